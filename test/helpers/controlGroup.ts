/**
 * A control group for a test's child processes: how tests meet a container's or a Slurm job's
 * limits (memory, and with it the kernel's out-of-memory killer; a CPU quota) without filling or
 * slowing the machine. Made where this process may make one (root, cgroup v1's hierarchies or v2's
 * unified one, as CI has); undefined elsewhere, and the tests that need one are skipped.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ControlGroupLimits {
  memoryBytes?: number;
  /** CPUs of quota (0.5: half of one; Infinity: none of its own, under its parent's). */
  cpus?: number;
}

export interface ControlGroup {
  /** `[command, args]` that run `command args` inside the group (a shell that joins it, then execs). */
  wrap(command: string, args: string[]): [string, string[]];
  /** A shell script that runs `command "$@"` inside the group: for a tool that takes one executable. */
  script(file: string, command: string): string;
  remove(): void;
}

const ROOT = '/sys/fs/cgroup';
const PERIOD_US = 100_000;

function tryWrite(file: string, text: string): boolean {
  try {
    fs.writeFileSync(file, text);
    return true;
  } catch {
    return false;
  }
}

function tryMkdir(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

/** Each limit's folder and files to write: cgroup v1 has a hierarchy per controller, v2 one for all. */
function plan(name: string, limits: ControlGroupLimits): Array<{ dir: string; files: Array<[string, string, boolean]> }> | undefined {
  const cpus = limits.cpus;
  const quota = cpus === undefined ? undefined : cpus === Infinity ? '-1' : String(Math.round(cpus * PERIOD_US));
  const memory = limits.memoryBytes === undefined ? undefined : String(limits.memoryBytes);
  if (fs.existsSync(path.join(ROOT, 'memory', 'cgroup.procs'))) {
    const groups: Array<{ dir: string; files: Array<[string, string, boolean]> }> = [];
    // With swap accounting, memory and swap together are limited too (no swap: the killer, not paging). [file, value, required]
    if (memory) groups.push({ dir: path.join(ROOT, 'memory', name), files: [['memory.limit_in_bytes', memory, true], ['memory.memsw.limit_in_bytes', memory, false]] });
    if (quota) groups.push({ dir: path.join(ROOT, 'cpu', name), files: [['cpu.cfs_period_us', String(PERIOD_US), true], ['cpu.cfs_quota_us', quota, true]] });
    return groups;
  }
  if (fs.existsSync(path.join(ROOT, 'cgroup.controllers'))) {
    tryWrite(path.join(ROOT, 'cgroup.subtree_control'), '+memory +cpu');
    const files: Array<[string, string, boolean]> = [];
    if (memory) files.push(['memory.max', memory, true], ['memory.swap.max', '0', false]);
    if (quota) files.push(['cpu.max', `${quota === '-1' ? 'max' : quota} ${PERIOD_US}`, true]);
    return [{ dir: path.join(ROOT, name), files }];
  }
  return undefined;
}

/** A group named `name` (`a/b`: b inside a, made first) with `limits`, or undefined where none can be made. */
export function makeControlGroup(name: string, limits: ControlGroupLimits): ControlGroup | undefined {
  const groups = plan(name, limits);
  if (!groups?.length) return undefined;
  const made: string[] = [];
  const remove = () => {
    // A group can go once its processes have (a killed one may take a moment to be reaped).
    for (const dir of made) {
      for (let i = 0; i < 50 && fs.existsSync(dir); i++) {
        try {
          fs.rmdirSync(dir);
        } catch {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        }
      }
    }
  };
  for (const { dir, files } of groups) {
    const ok = tryMkdir(dir) && made.push(dir) > 0 && files.every(([file, value, required]) => tryWrite(path.join(dir, file), value) || !required);
    if (!ok) {
      remove();
      return undefined;
    }
  }
  const join = made.map((dir) => `echo $$ > '${dir}/cgroup.procs' || exit 125`).join('; ');
  return {
    wrap: (command, args) => ['/bin/sh', ['-c', `${join}; exec "$@"`, 'sh', command, ...args]],
    script(file, command) {
      fs.writeFileSync(file, `#!/bin/sh\n${join}\nexec '${command}' "$@"\n`, { mode: 0o755 });
      return file;
    },
    remove,
  };
}

/** Run `command args` (a `wrap`ped one) to its end: exit code or signal, stdout and stderr. */
export function runToEnd(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  const p = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => p.on('close', (code, signal) => resolve({ code, signal, out, err })));
}

/**
 * The groups one test file makes, named after its process: `make` one (undefined where none can be
 * made), `removeAll` in its afterAll. `available`: whether this process can make a memory group.
 */
export class ControlGroups {
  private readonly made: ControlGroup[] = [];
  readonly available: boolean;

  constructor() {
    const probe = makeControlGroup(`cvw-test-${process.pid}-probe`, { memoryBytes: 64 * 2 ** 20 });
    probe?.remove();
    this.available = !!probe;
  }

  /** A group with `limits`; `inside`: one made earlier by this collection, to make it a child of (its index). */
  make(limits: ControlGroupLimits, inside?: number): ControlGroup | undefined {
    const name = `cvw-test-${process.pid}-${this.made.length}`;
    const g = makeControlGroup(inside === undefined ? name : `cvw-test-${process.pid}-${inside}/${name}`, limits);
    if (g) this.made.push(g);
    return g;
  }

  /** Children first. */
  removeAll(): void {
    for (const g of this.made.reverse()) g.remove();
  }
}
