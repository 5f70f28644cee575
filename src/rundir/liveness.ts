/**
 * Is the process that wrote a run still alive? run.json keeps status `running` when its trainer
 * was killed (SIGKILL, a power cut, an editor that took its child down), so readers check the pid.
 *
 * A pid can be reused by an unrelated process after the trainer died: on Linux the process's
 * start time (from /proc) must not be later than the run's start (or its last resume).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

export type Liveness = 'alive' | 'dead' | 'unknown';

/** Seconds since the epoch at which the system booted (Linux), cached. */
let bootTime: number | undefined | null;
function linuxBootTime(): number | undefined {
  if (bootTime === undefined) {
    try {
      const m = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
      bootTime = m ? Number(m[1]) : null;
    } catch {
      bootTime = null;
    }
  }
  return bootTime ?? undefined;
}

/** Clock ticks per second of /proc/<pid>/stat's start time: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** State and start time (ms since the epoch) of `pid` from /proc (Linux); undefined elsewhere. */
export function procStat(pid: number): { state: string; started?: number } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const boot = linuxBootTime();
  const ticks = Number(fields[19]); // field 22 overall
  return { state: fields[0], started: boot !== undefined && Number.isFinite(ticks) ? (boot + ticks / CLOCK_TICKS) * 1000 : undefined };
}

/** When this process started (ms since the epoch; Linux), recorded beside its pid. */
export function ownStartTime(): number | undefined {
  return procStat(process.pid)?.started;
}

/**
 * `alive` when `pid` runs on this machine (and, where /proc tells, is no zombie and started no
 * later than `startedBy` — the last time the run's writer was known alive, e.g. run.json's mtime —
 * or at `started`, the writer's own start time where it was recorded, with a second of slack for
 * clock granularity); `dead` when it does not; `unknown` for a run written on another host.
 */
export function processLiveness(pid: number, options: { hostname?: string; startedBy?: number; started?: number } = {}): Liveness {
  if (options.hostname && options.hostname !== os.hostname()) return 'unknown';
  if (!Number.isInteger(pid) || pid <= 0) return 'dead';
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return 'dead';
  }
  const stat = procStat(pid);
  if (stat?.state === 'Z' || stat?.state === 'X') return 'dead';
  if (options.startedBy !== undefined && stat?.started !== undefined && stat.started > options.startedBy + 1000) return 'dead';
  if (options.started !== undefined && stat?.started !== undefined && Math.abs(stat.started - options.started) > 1000) return 'dead';
  return 'alive';
}
