/**
 * How much memory this process may use, and whether the kernel's out-of-memory killer ended one
 * that used more.
 *
 * os.totalmem() is the machine's memory. A container's limit, or a Slurm job's --mem, is a control
 * group's, which only process.constrainedMemory() sees (libuv reads cgroup v1 and v2); a budget
 * taken from the machine's figure there lets a run grow until the kernel kills it. Plain Node
 * modules only: the launcher (cli/relaunch.ts) loads this before the library.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { controlGroupOf, readText } from './controlGroup';
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

/** The out-of-memory killer's count in `file` (a memory group's, or /proc/vmstat: the machine's), else undefined. */
function killCount(file: string): number | undefined {
  const m = /^oom_kill (\d+)$/m.exec(readText(file) ?? '');
  return m ? Number(m[1]) : undefined;
}

const MACHINE_KILLS = '/proc/vmstat';

/**
 * The file that counts the out-of-memory kills of process `pid`'s memory control group (v1's
 * memory.oom_control, v2's memory.events: any kill of one of its processes, whichever limit ran
 * out), or undefined outside one. A root hierarchy's own group does not count: v2's root has no
 * such file, and it is the machine anyway.
 */
function groupKillsFile(pid: number): string | undefined {
  const group = process.platform === 'linux' ? controlGroupOf('memory', pid) : undefined;
  return group && group.dir !== group.mount ? path.join(group.dir, group.v2 ? 'memory.events' : 'memory.oom_control') : undefined;
}

/** How long after its start a child may still be moved into its group (by a wrapper: cgexec, a script), in looks a second apart. */
const GROUP_LOOKS = 30;

/** What `watchOutOfMemoryKills` needs of a child process. */
interface Watched {
  readonly pid?: number;
  once(event: 'exit', listener: () => void): unknown;
}

/**
 * Call as a child process starts; the function it returns says, once the child has died of
 * `signal`, whether the kernel's out-of-memory killer ended it. The kernel gives no reason with
 * SIGKILL and logs its own only where users seldom look, but it counts its kills, in each memory
 * control group: when the count of the child's group rose while it ran, the killer ended one of
 * the group's processes, the child being the largest. That is a container's, a Slurm job's or a
 * systemd unit's group, so another's victim on the same machine is not taken for the child (the
 * machine's count rises with every one); only a process in no group of its own falls back to it.
 */
export function watchOutOfMemoryKills(child: Watched): (signal: NodeJS.Signals | null) => boolean {
  const machineBefore = killCount(MACHINE_KILLS);
  // Each group the child was seen in, with its count then.
  const groups = new Map<string, number>();
  const look = () => {
    const file = child.pid === undefined ? undefined : groupKillsFile(child.pid);
    const count = file && !groups.has(file) ? killCount(file) : undefined;
    if (count !== undefined) groups.set(file!, count);
  };
  look();
  // A wrapper may move it into its group just after it starts: look again for a while.
  let looks = 1;
  const timer = setInterval(() => {
    look();
    if (++looks >= GROUP_LOOKS) clearInterval(timer);
  }, 1000).unref();
  child.once('exit', () => clearInterval(timer));
  return (signal) => {
    clearInterval(timer);
    if (signal !== 'SIGKILL') return false;
    const counts = [...groups].map(([file, before]) => [killCount(file), before] as const).filter(([after]) => after !== undefined);
    // A group gone with its processes (a systemd scope) counts no more: the machine's count is left.
    if (counts.length) return counts.some(([after, before]) => after! > before);
    const after = killCount(MACHINE_KILLS);
    return machineBefore !== undefined && after !== undefined && after > machineBefore;
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
