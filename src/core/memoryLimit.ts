/**
 * How much memory this process may use, and whether the kernel's out-of-memory killer ended one
 * that used more.
 *
 * os.totalmem() is the machine's memory. A container's limit, or a Slurm job's --mem, is a control
 * group's, which only process.constrainedMemory() sees (libuv reads cgroup v1 and v2); a budget
 * taken from the machine's figure there lets a run grow until the kernel kills it. Plain Node
 * modules only: the launcher (cli/relaunch.ts) loads this before the library.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { gigabytes } from './format';

export interface MemoryLimit {
  bytes: number;
  /** Where the limit comes from, for messages: `this machine's` or the control group's. */
  source: 'machine' | 'control group';
}

/** The memory this process may use: the machine's, or its control group's limit where that is lower. */
export function memoryLimit(): MemoryLimit {
  const machine = os.totalmem();
  // 0 where there is no limit or libuv cannot tell; Node 20 reports "no limit" as 2^64.
  const group = process.constrainedMemory?.() ?? 0;
  return group > 0 && group < machine ? { bytes: group, source: 'control group' } : { bytes: machine, source: 'machine' };
}

/** `this machine's 25.3 GB` or `its control group's 0.4 GB (a container's or job's limit; the machine has 25.3 GB)`. */
export function describeMemoryLimit(limit: MemoryLimit = memoryLimit()): string {
  if (limit.source === 'machine') return `this machine's ${gigabytes(limit.bytes)} GB`;
  return `its control group's ${gigabytes(limit.bytes)} GB (a container's or job's limit; the machine has ${gigabytes(os.totalmem())} GB)`;
}

/** How many processes the kernel's out-of-memory killer has ended since boot (Linux's /proc/vmstat), else undefined. */
export function oomKillCount(): number | undefined {
  try {
    const m = /^oom_kill (\d+)$/m.exec(fs.readFileSync('/proc/vmstat', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Call as a child process starts; the function it returns says, once the child has died of
 * `signal`, whether the kernel's out-of-memory killer most likely ended it. The kernel gives no
 * reason with SIGKILL and logs its own only where users seldom look; when its killer's count rose
 * while the child ran, the child, the largest process, was most likely the one it ended.
 */
export function watchOutOfMemoryKills(): (signal: NodeJS.Signals | null) => boolean {
  const before = oomKillCount();
  return (signal) => {
    if (signal !== 'SIGKILL' || before === undefined) return false;
    const after = oomKillCount();
    return after !== undefined && after > before;
  };
}

const VAL_BATCH = 'make data.val.batch_size or the image size smaller (e.g. --data.val.batch_size 16)';
/** What to lower when `cvw <command>` ran out of memory. */
const LOWER: Record<string, string> = {
  train: 'make data.train.batch_size or the image size smaller, or data.workers and data.prefetch fewer',
  eval: VAL_BATCH,
  extract: VAL_BATCH,
};

/** `ended by the kernel's out-of-memory killer (...): <what to lower>`, for a process of `cvw <command>`. */
export function endedForMemory(command: string): string {
  const lower = LOWER[command] ?? 'make --batch-size or the image size smaller';
  return `ended by the kernel's out-of-memory killer (with the other processes here it needed more than ${describeMemoryLimit()} of memory): ${lower}`;
}

/** The line that says `cvw <command>` was ended for memory, and what to lower. */
export function outOfMemoryNote(command: string): string {
  const resume = command === 'train' ? ', then continue with `cvw train --resume <run directory>`' : '';
  return `cvw: cvw ${command} was ${endedForMemory(command)}${resume}\n`;
}
