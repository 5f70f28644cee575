/**
 * The run queue of a workspace: `work_dirs/.queue.json`, beside the runs it starts (work_dirs/ is
 * where `cvw train` already writes and what projects already ignore in git; the CLI run from the
 * workspace folder and the editor find it at the same place). The editor and `cvw queue` edit it
 * at once: every change is read-modify-write under `work_dirs/.queue.json.lock` (created
 * exclusively; a lock whose process is gone is taken over), and written atomically (temp + rename),
 * so no change is lost and no reader sees half a file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../core/problems';
import { readRegularFile, UnreadableFile } from '../core/boundedRead';
import { processLiveness, writeJsonAtomic } from '../rundir';
import { makeDirs } from '../core/makeDirs';

export const QUEUE_FILE = path.join('work_dirs', '.queue.json');
export const QUEUE_VERSION = 1;

export type QueueEntryState = 'queued' | 'running' | 'done' | 'failed' | 'paused';

export interface QueueEntry {
  /** `q1`, `q2`, ...: never reused within a queue file. */
  id: string;
  /** The config, relative to the workspace folder when inside it. */
  config: string;
  /** More `cvw train` arguments: dotted-key overrides and options (`--max-iters 5`). */
  overrides: string[];
  /** ISO time it was added. */
  added: string;
  state: QueueEntryState;
  /** Once started: the run directory (absolute), the process and its host, when. */
  runDir?: string;
  pid?: number;
  host?: string;
  started?: string;
  ended?: string;
  /** Why it is `failed` (or how a `done` run ended when not `finished`). */
  reason?: string;
}

export interface QueueData {
  version: number;
  /** A paused queue starts nothing; what runs goes on. */
  paused: boolean;
  /** The last id number handed out. */
  seq: number;
  entries: QueueEntry[];
}

/** A queue file that cannot be read or changed as asked: names the file (and the key path). */
export class QueueFileError extends UserError {}

export function queueFile(root: string): string {
  return path.join(path.resolve(root), QUEUE_FILE);
}

const emptyQueue = (): QueueData => ({ version: QUEUE_VERSION, paused: false, seq: 0, entries: [] });

const STATES: readonly QueueEntryState[] = ['queued', 'running', 'done', 'failed', 'paused'];

/** Parse the queue file's text; errors name the file and the key path. */
export function parseQueue(text: string, file: string): QueueData {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new QueueFileError(`${file}: not JSON (${(e as Error).message})`);
  }
  const fail = (where: string, expected: string) => new QueueFileError(`${file}: ${where}: expected ${expected}`);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw fail('(top level)', 'an object with "entries"');
  const o = raw as Record<string, unknown>;
  if (typeof o.version === 'number' && o.version > QUEUE_VERSION) throw new QueueFileError(`${file}: written by a newer cvw (queue version ${o.version}, this one reads ${QUEUE_VERSION})`);
  if (!Array.isArray(o.entries)) throw fail('entries', 'an array');
  const entries = o.entries.map((e: unknown, i): QueueEntry => {
    const at = `entries[${i}]`;
    if (!e || typeof e !== 'object') throw fail(at, 'an object');
    const x = e as Record<string, unknown>;
    if (typeof x.id !== 'string') throw fail(`${at}.id`, 'a string');
    if (typeof x.config !== 'string') throw fail(`${at}.config`, 'a string');
    if (!Array.isArray(x.overrides) || x.overrides.some((a) => typeof a !== 'string')) throw fail(`${at}.overrides`, 'an array of strings');
    if (!STATES.includes(x.state as QueueEntryState)) throw fail(`${at}.state`, STATES.join(' | '));
    for (const key of ['runDir', 'host', 'started', 'ended', 'reason'] as const) if (x[key] !== undefined && typeof x[key] !== 'string') throw fail(`${at}.${key}`, 'a string');
    if (x.pid !== undefined && !(Number.isInteger(x.pid) && (x.pid as number) > 0)) throw fail(`${at}.pid`, 'a process id (a positive integer)');
    return { ...(x as unknown as QueueEntry), added: typeof x.added === 'string' ? x.added : '' };
  });
  const seq = entries.reduce((m, e) => Math.max(m, Number(/^q(\d+)$/.exec(e.id)?.[1] ?? 0)), typeof o.seq === 'number' ? o.seq : 0);
  return { version: QUEUE_VERSION, paused: o.paused === true, seq, entries };
}

/** The queue of workspace `root` (empty when there is no file). */
export function readQueue(root: string): QueueData {
  const file = queueFile(root);
  let text: string;
  try {
    // Bounded, and a regular file only: the file comes with the workspace, and a FIFO or a link to
    // /dev/zero there would hang the editor, which reads the queue as it opens.
    text = readRegularFile(file, { what: 'queue file', maxBytes: MAX_QUEUE_BYTES }).toString('utf8');
  } catch (e) {
    if (e instanceof UnreadableFile && e.reason === 'not-found') return emptyQueue();
    if (e instanceof UnreadableFile) throw new QueueFileError(e.message);
    throw e;
  }
  return parseQueue(text, file);
}

/** The entries of the queue, in order: what a runs table lists (empty when there is no queue). */
export function listQueueEntries(root: string): QueueEntry[] {
  try {
    return readQueue(root).entries;
  } catch {
    return [];
  }
}

/** A queue of thousands of entries is a few MB. */
const MAX_QUEUE_BYTES = 64 << 20;
/** A lock file holds one line of JSON: read bounded, and only as a regular file. */
const readLock = (file: string) => readRegularFile(file, { what: 'queue lock', maxBytes: 4096 }).toString('utf8');

/** A lock not released this long after it was taken belongs to a process that hangs or is gone. */
const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 10_000;
/**
 * A lock file that does not parse this long after its last write was left half-written (its
 * writer was killed between creating and filling it, or the disk was full): nobody holds it.
 */
const UNREADABLE_STALE_MS = 5_000;

interface LockHolder {
  pid: number;
  host: string;
  since: number;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The queue's lock is held by someone else and was not let go within the wait asked for. */
export class QueueLockBusy extends QueueFileError {}

/**
 * Take the queue's lock: wait (up to `waitMs`) while a live process holds it, take over one whose
 * process is gone or that has been held over LOCK_STALE_MS.
 */
function lock(file: string, waitMs: number): () => void {
  const lockFile = `${file}.lock`;
  const me = JSON.stringify({ pid: process.pid, host: os.hostname(), since: Date.now() } satisfies LockHolder);
  makeDirs(path.dirname(file));
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, me, { flag: 'wx' });
      return () => {
        // Only our own lock goes (a takeover by someone else after LOCK_STALE_MS is theirs).
        try {
          if (readLock(lockFile) === me) fs.unlinkSync(lockFile);
        } catch {
          // gone already
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let text = '';
    let mtimeMs = 0;
    try {
      mtimeMs = fs.statSync(lockFile).mtimeMs;
      text = readLock(lockFile);
    } catch (e) {
      // Not a lock this code wrote (a FIFO, a device, a large file): waiting would not change it.
      if (e instanceof UnreadableFile && e.reason !== 'not-found') throw new QueueFileError(`${e.message}; delete it if no cvw or editor uses the queue`);
      continue; // released meanwhile
    }
    let holder: LockHolder | undefined;
    try {
      holder = JSON.parse(text) as LockHolder;
    } catch {
      // being written: wait
    }
    // Held since the older of what it says and its last write: a `since` in the future (a lock
    // committed to a repository, another host's clock) would otherwise never grow stale.
    const heldSince = holder && typeof holder.since === 'number' ? Math.min(holder.since, mtimeMs) : mtimeMs;
    const stale = holder ? processLiveness(holder.pid, { hostname: holder.host }) === 'dead' || Date.now() - heldSince > LOCK_STALE_MS : Date.now() - mtimeMs > UNREADABLE_STALE_MS;
    if (stale) {
      // Rename, not unlink: of two processes taking over the same stale lock only one succeeds.
      const grave = `${lockFile}.stale-${process.pid}`;
      try {
        fs.renameSync(lockFile, grave);
        if (readLock(grave) === text) fs.unlinkSync(grave);
        else {
          // A fresh lock came in between: put it back, unless yet another was taken meanwhile.
          try {
            fs.linkSync(grave, lockFile);
          } finally {
            fs.unlinkSync(grave);
          }
        }
      } catch {
        // someone else took it over
      }
      continue;
    }
    if (Date.now() > deadline) throw new QueueLockBusy(`${lockFile}: held by pid ${holder?.pid ?? '?'} on ${holder?.host ?? '?'} for over ${waitMs / 1000} s; delete it if no cvw or editor uses the queue`);
    sleep(5 + Math.random() * 10);
  }
}

/**
 * Read the queue, let `change` edit it, write it back — all under the queue's lock, so that two
 * processes changing it at once lose nothing. Returns what `change` returned; throws QueueLockBusy
 * when the lock stays held past `waitMs` (default 10 s).
 */
export function updateQueue<T>(root: string, change: (q: QueueData) => T, options: { waitMs?: number } = {}): T {
  const file = queueFile(root);
  const release = lock(file, options.waitMs ?? LOCK_WAIT_MS);
  try {
    const q = readQueue(root);
    const before = JSON.stringify(q);
    const result = change(q);
    if (JSON.stringify(q) !== before) writeJsonAtomic(file, q);
    return result;
  } finally {
    release();
  }
}

/** The config as stored: relative to the workspace folder when inside it. */
function storedConfig(root: string, config: string): string {
  const abs = path.resolve(root, config);
  const rel = path.relative(path.resolve(root), abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : abs;
}

/** Add a training to the end of the queue. */
export function addToQueue(root: string, config: string, overrides: string[] = [], now = new Date()): QueueEntry {
  return updateQueue(root, (q) => {
    const entry: QueueEntry = { id: `q${++q.seq}`, config: storedConfig(root, config), overrides, added: now.toISOString(), state: 'queued' };
    q.entries.push(entry);
    return entry;
  });
}

function findEntry(q: QueueData, id: string, file: string): number {
  const i = q.entries.findIndex((e) => e.id === id);
  if (i < 0) throw new QueueFileError(`${file}: no entry ${id} (entries: ${q.entries.map((e) => e.id).join(', ') || 'none'})`);
  return i;
}

/** Remove an entry (a running one keeps running: its run is in work_dirs like any other). */
export function removeFromQueue(root: string, id: string): QueueEntry {
  return updateQueue(root, (q) => q.entries.splice(findEntry(q, id, queueFile(root)), 1)[0]);
}

/** Move an entry up (-1) or down (+1) the queue. */
export function moveInQueue(root: string, id: string, by: -1 | 1): void {
  updateQueue(root, (q) => {
    const i = findEntry(q, id, queueFile(root));
    const j = i + by;
    if (j < 0 || j >= q.entries.length) return;
    [q.entries[i], q.entries[j]] = [q.entries[j], q.entries[i]];
  });
}

/** Hold a queued entry back (`paused`), or let it go again (`queued`). */
export function holdInQueue(root: string, id: string, hold: boolean): void {
  updateQueue(root, (q) => {
    const e = q.entries[findEntry(q, id, queueFile(root))];
    if (hold && e.state === 'queued') e.state = 'paused';
    else if (!hold && e.state === 'paused') e.state = 'queued';
  });
}

/** Pause (start nothing more) or resume the whole queue. */
export function setQueuePaused(root: string, paused: boolean): void {
  updateQueue(root, (q) => {
    q.paused = paused;
  });
}

/** Remove the entries that are done or failed. */
export function clearFinished(root: string): number {
  return updateQueue(root, (q) => {
    const before = q.entries.length;
    q.entries = q.entries.filter((e) => e.state !== 'done' && e.state !== 'failed');
    return before - q.entries.length;
  });
}
