import { spawnSync } from 'node:child_process';

/** Debian's python3 (the first python3 on PATH may be another interpreter without its packages). */
export const PYTHON = '/usr/bin/python3';

/** Whether `PYTHON` can import every module named. */
export function pythonHas(...modules: string[]): boolean {
  const r = spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ') || 'pass'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Run a Python script with arguments; returns stdout, throws with stderr on failure. */
export function runPython(script: string, args: string[] = [], input?: string): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
