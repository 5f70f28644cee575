/**
 * One writer per run: `run.lock` in the run directory, created exclusively (`wx`) by the process
 * that trains in it (a new run or a resume) and removed when that process ends, however it ends
 * (finished, failed, stopped, `process.exit`). It says who holds it — pid, host, since when — so a
 * second writer is refused with a message naming the holder instead of interleaving its rows.
 *
 * A lock left by a process that died without removing it (SIGKILL, a power cut) is stale: on this
 * host, with its pid dead (or reused by a later process), it is taken over; from another host the
 * pid cannot be checked, so the user is told how to remove it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { UserError } from '../core/problems';
import { readRegularFile } from '../core/boundedRead';
import { runFile } from './files';
import { processLiveness } from './liveness';

export interface LockHolder {
  pid: number;
  hostname: string;
  /** When the lock was taken (ISO time). */
  started: string;
  command?: string[];
}

/** A lock file that cannot be parsed this long after its last write was left half-written by a crash. */
const UNREADABLE_STALE_MS = 10_000;
/** How long to wait for a lock file that another process is still writing (or taking over). */
const BUSY_WAIT_MS = 3_000;

/** Another live process (or one on another host) holds the run. */
export class RunLockedError extends UserError {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
    sameHost: boolean,
  ) {
    const who = `cvw (pid ${holder.pid} on ${holder.hostname}) has held it since ${holder.started}`;
    const lockFile = runFile(dir, 'lock');
    super(
      sameHost
        ? `${dir} is in use: ${who}. One process at a time writes a run: wait for it to end or stop it (kill -INT ${holder.pid}); to train separately, use another --work-dir`
        : `${dir} is in use: ${who}; its process cannot be checked from ${os.hostname()}. If it no longer runs there, delete ${lockFile} and try again`,
    );
    this.name = 'RunLockedError';
  }
}

/** Locks this process holds: `process.exit` (a second Ctrl+C) and uncaught errors skip `finally` blocks, not 'exit'. */
const held = new Set<RunLock>();
const releaseAll = () => held.forEach((l) => l.release());

export class RunLock {
  private constructor(
    readonly file: string,
    readonly holder: LockHolder,
    /** The stale lock this one replaced (its process was gone): its holder, or `unreadable` for a half-written file. */
    readonly tookOverFrom?: LockHolder | 'unreadable',
  ) {
    if (!held.size) process.on('exit', releaseAll);
    held.add(this);
  }

  /** Take the lock of run directory `dir` (which must exist), or throw RunLockedError naming the holder. */
  static acquire(dir: string): RunLock {
    const file = runFile(dir, 'lock');
    const me: LockHolder = { pid: process.pid, hostname: os.hostname(), started: new Date().toISOString(), command: process.argv.slice(1) };
    const deadline = Date.now() + BUSY_WAIT_MS;
    let tookOverFrom: RunLock['tookOverFrom'];
    for (;;) {
      if (tryCreate(file, me)) return new RunLock(file, me, tookOverFrom);
      const seen = readLockFile(file);
      const holder = seen && parseHolder(seen.text);
      if (holder && holder.hostname !== os.hostname()) throw new RunLockedError(dir, holder, false);
      if (seen) {
        const stale = holder ? processLiveness(holder.pid, { startedBy: Date.parse(holder.started) }) === 'dead' : Date.now() - seen.mtimeMs > UNREADABLE_STALE_MS;
        if (!stale && holder) throw new RunLockedError(dir, holder, true);
        if (stale && removeStale(file, seen.text)) {
          tookOverFrom = holder ?? 'unreadable';
          continue;
        }
      }
      // Released between our attempt and the read, half-written by a process taking it now, or being taken over.
      if (Date.now() > deadline) throw new UserError(`${dir}: cannot take the run's lock ${file} (another process is taking it); try again, or delete the file if no cvw process uses this run`);
      sleep(20);
    }
  }

  /** A log line about the stale lock this one replaced, if any. */
  takeoverNote(): string | undefined {
    const from = this.tookOverFrom;
    if (!from) return undefined;
    if (from === 'unreadable') return "took over the run's lock from a half-written lock file left by a process that is gone";
    return `took over the run's lock from pid ${from.pid} on ${from.hostname} (since ${from.started}), which is no longer running`;
  }

  /** Remove the lock if it is still this process's. Safe to call more than once. */
  release(): void {
    if (!held.delete(this)) return;
    if (!held.size) process.off('exit', releaseAll);
    const seen = readLockFile(this.file);
    const holder = seen && parseHolder(seen.text);
    if (holder && holder.pid === this.holder.pid && holder.started === this.holder.started && holder.hostname === this.holder.hostname) {
      try {
        fs.unlinkSync(this.file);
      } catch {
        // gone already
      }
    }
  }
}

/** The holder of a run's lock, when there is a readable one. */
export function readRunLock(dir: string): LockHolder | undefined {
  const seen = readLockFile(runFile(dir, 'lock'));
  return seen && parseHolder(seen.text);
}

/** Create the lock file holding `holder`; false when it exists. */
function tryCreate(file: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new UserError(`cannot create the run's lock ${file}: ${(e as Error).message}`);
  }
  try {
    fs.writeSync(fd, JSON.stringify(holder) + '\n');
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

function readLockFile(file: string): { text: string; mtimeMs: number } | undefined {
  try {
    // A regular file of one line only: run folders come with the workspace, and every reader of a
    // run (the editor's included) looks at its lock; a FIFO there must not block them.
    return { mtimeMs: fs.statSync(file).mtimeMs, text: readRegularFile(file, { what: 'run lock', maxBytes: 4096 }).toString('utf8') };
  } catch {
    return undefined;
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as LockHolder;
    return h && Number.isInteger(h.pid) && typeof h.hostname === 'string' && typeof h.started === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remove a stale lock whose content was `staleText`. Takeovers go one at a time through a guard
 * file, and the lock is read again under it: two processes that both found the same stale lock
 * must not both remove it (the second would remove the first one's fresh lock).
 */
function removeStale(file: string, staleText: string): boolean {
  const guard = `${file}.takeover`;
  const me: LockHolder = { pid: process.pid, hostname: os.hostname(), started: new Date().toISOString() };
  if (!tryCreate(guard, me)) {
    // A takeover that crashed half-way leaves its guard: old guards go.
    const g = readLockFile(guard);
    if (g && Date.now() - g.mtimeMs > UNREADABLE_STALE_MS) fs.rmSync(guard, { force: true });
    return false;
  }
  try {
    if (readLockFile(file)?.text !== staleText) return false;
    fs.rmSync(file, { force: true });
    return true;
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
