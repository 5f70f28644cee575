/**
 * A memory control group for a test's child processes: how tests meet a container's or a Slurm
 * job's memory limit, and the kernel's out-of-memory killer, without filling the machine. Made
 * where this process may make one (root, cgroup v1's memory hierarchy or v2's unified one, as CI
 * has); undefined elsewhere, and the tests that need one say they were skipped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface MemoryCgroup {
  /** `[command, args]` that run `command args` inside the group (a shell that joins it, then execs). */
  wrap(command: string, args: string[]): [string, string[]];
  /** A shell script that runs `command "$@"` inside the group: for a tool that takes one executable. */
  script(file: string, command: string): string;
  remove(): void;
}

function tryWrite(file: string, text: string): boolean {
  try {
    fs.writeFileSync(file, text);
    return true;
  } catch {
    return false;
  }
}

/** A group of `name` holding at most `limitBytes` (no swap), or undefined where none can be made. */
export function makeMemoryCgroup(name: string, limitBytes: number): MemoryCgroup | undefined {
  const v1 = '/sys/fs/cgroup/memory';
  const v2 = '/sys/fs/cgroup';
  let dir: string;
  if (fs.existsSync(path.join(v1, 'cgroup.procs'))) {
    dir = path.join(v1, name);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch {
      return undefined;
    }
    if (!tryWrite(path.join(dir, 'memory.limit_in_bytes'), String(limitBytes))) return undefined;
    // With swap accounting, the limit of memory and swap together too (no swap: the killer, not paging).
    if (fs.existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) tryWrite(path.join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes));
  } else if (fs.existsSync(path.join(v2, 'cgroup.controllers'))) {
    dir = path.join(v2, name);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch {
      return undefined;
    }
    tryWrite(path.join(v2, 'cgroup.subtree_control'), '+memory');
    if (!tryWrite(path.join(dir, 'memory.max'), String(limitBytes))) return undefined;
    tryWrite(path.join(dir, 'memory.swap.max'), '0');
  } else {
    return undefined;
  }
  const join = `echo $$ > '${dir}/cgroup.procs' || exit 125`;
  return {
    wrap: (command, args) => ['/bin/sh', ['-c', `${join} && exec "$@"`, 'sh', command, ...args]],
    script(file, command) {
      fs.writeFileSync(file, `#!/bin/sh\n${join}\nexec '${command}' "$@"\n`, { mode: 0o755 });
      return file;
    },
    remove() {
      // The group can go once its processes have (a killed one may take a moment to be reaped).
      for (let i = 0; i < 50; i++) {
        try {
          fs.rmdirSync(dir);
          return;
        } catch {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        }
      }
    },
  };
}
