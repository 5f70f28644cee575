/**
 * "Submit to Slurm…" without the editor: the settings it reads, the `cvw submit` command line it
 * builds, and what it reads back. No `vscode` here (unit-tested in test/extension/slurm.test.ts).
 */


export interface SlurmSubmitChoice {
  /** Empty: the cluster's default partition. */
  partition?: string;
  nodes: number;
  ntasksPerNode: number;
  /** 0 or absent: no GPUs asked for. */
  gpusPerTask?: number;
  /** Slurm's format (e.g. 2:00:00); empty: the partition's limit. */
  time?: string;
  /** More `cvw submit` arguments (--max-iters 100, --backend wasm, overrides). */
  args?: string[];
}

/** The `cvw submit` arguments for `config` (`--json`: the answer is read by parseSubmitOutput). */
export function submitArgs(config: string, o: SlurmSubmitChoice): string[] {
  return [
    'submit',
    config,
    '--nodes',
    String(o.nodes),
    '--ntasks-per-node',
    String(o.ntasksPerNode),
    ...(o.gpusPerTask ? ['--gpus-per-task', String(o.gpusPerTask)] : []),
    ...(o.partition?.trim() ? ['--partition', o.partition.trim()] : []),
    ...(o.time?.trim() ? ['--time', o.time.trim()] : []),
    ...(o.args ?? []),
    '--json',
  ];
}

/** `cvw submit --json`'s answer in a process's output (other lines around it are skipped). */
export function parseSubmitOutput(text: string): { runDir: string; jobId?: string } | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) return undefined;
  try {
    const r = JSON.parse(text.slice(start, end + 1)) as { runDir?: unknown; jobId?: unknown };
    return typeof r.runDir === 'string' ? { runDir: r.runDir, ...(typeof r.jobId === 'string' ? { jobId: r.jobId } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/** An input box's answer as a count: a positive integer (or 0 where `zeroOk`), else the message to show. */
export function countInput(text: string, what: string, zeroOk = false): number | string {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isInteger(n) || n < (zeroOk ? 0 : 1)) return `${what}: expected ${zeroOk ? 'a whole number (0 for none)' : 'a positive whole number'}, got "${text}"`;
  return n;
}
