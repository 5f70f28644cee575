/**
 * Starts the queue's entries (queueFile.ts) through a RunManager, `parallel` at a time, and marks
 * each with its run directory and process. Any number of runners may serve one queue (the editor
 * and `cvw queue run`, or an editor after a window reload): every step is a read-modify-write of
 * the queue file under its lock, and the limit counts every running entry, whoever started it.
 *
 * A runner that restarts finds entries `running`: one whose process is still alive is adopted
 * (followed until its run ends, never started again); one whose process is gone ends `done` or
 * `failed` by what its run.json says (`interrupted` when it says nothing more).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { processLiveness, readRunRecord } from '../rundir';
import { newRunId, configStem, type RunManager } from './manager';
import { QueueLockBusy, readQueue, updateQueue, type QueueData, type QueueEntry } from './queueFile';
import type { Disposable } from './watcher';

/**
 * How long a tick waits for the queue's lock. It runs on the editor's extension host, which the
 * wait blocks: another process holds the lock for milliseconds, and a busy tick is tried again.
 */
const LOCK_WAIT_MS = 200;

/** The most runs a queue starts at a time (`cvw queue run --parallel`, `cvWorkbench.runs.queueParallel`). */
export const MAX_QUEUE_PARALLEL = 64;

export interface QueueRunnerOptions {
  /** The workspace folder: the queue file, `work_dirs/` and relative configs are resolved from it. */
  root: string;
  /** Runs at a time (default 1); may change between ticks. */
  parallel?: number | (() => number);
  /** How often the queue file and the runs are looked at (default 1000 ms). */
  pollMs?: number;
  /**
   * Runs outlive this runner (default true): a window reload must not stop them; the next runner
   * adopts them. `cvw queue run` in a terminal keeps them attached, so Ctrl+C stops all.
   */
  detached?: boolean;
  /** Arguments added to every `cvw train` (tests: `--max-iters`). */
  trainArgs?: string[];
  env?: Record<string, string>;
  /**
   * Whether queued entries may start now (default: always). The editor serves a folder's queue as
   * the folder opens, and a repository can commit work_dirs/.queue.json: it holds the queue until
   * the person has started it in that folder, so that opening a clone trains nothing. Held entries
   * stay `queued` and the file is left as it is; running ones are still followed and settled.
   */
  mayStart?: () => boolean;
}

/** How a started entry stands now: still running, or its ending for the queue. */
function verdict(e: QueueEntry, lastOutput?: string): { running: true } | { running: false; state: 'done' | 'failed'; reason?: string } {
  const record = e.runDir ? readRunRecord(e.runDir) : undefined;
  const startedMs = e.started ? Date.parse(e.started) : undefined;
  const alive = e.pid !== undefined && processLiveness(e.pid, { hostname: e.host, startedBy: startedMs }) !== 'dead';
  // Alive and not finished: training, or it wrote its ending and is still exiting.
  if (record?.state === 'running' || (alive && record?.state !== 'finished')) return { running: true };
  if (!record) return { running: false, state: 'failed', reason: `the process ended before writing its run${lastOutput ? `: ${lastOutput}` : ''}` };
  if (record.state === 'finished') return { running: false, state: 'done' };
  return { running: false, state: 'failed', reason: record.info.error?.message ? `${record.state}: ${record.info.error.message}` : record.state };
}

/**
 * End the `running` entries whose process is gone: `done` or `failed` by their run.json (a living
 * one stays, whoever started it). `lastLines`: the last output line of processes this process
 * started, by pid (why one failed before writing its run); `exiting`: those of them that are gone
 * but whose output is not read yet (settled once it is, so the reason is not lost).
 */
export function settleEntries(q: QueueData, lastLines: ReadonlyMap<number, string> = new Map(), exiting: ReadonlySet<number> = new Set()): void {
  const now = new Date().toISOString();
  for (const e of q.entries) {
    if (!awaitingVerdict(e, exiting)) continue;
    const v = verdict(e, e.pid === undefined ? undefined : lastLines.get(e.pid));
    if (v.running) continue;
    e.state = v.state;
    e.ended = now;
    if (v.reason) e.reason = v.reason;
    else delete e.reason;
  }
}

/** A running entry whose ending is judged now: not one of `exiting`, whose output is still being read. */
function awaitingVerdict(e: QueueEntry, exiting: ReadonlySet<number>): boolean {
  return e.state === 'running' && !(e.pid !== undefined && exiting.has(e.pid));
}

/** The queue of `root` with its ended runs settled (written back when something changed): what `cvw queue list` shows. */
export function settledQueue(root: string): QueueData {
  const peek = readQueue(root);
  return peek.entries.some((e) => e.state === 'running') ? updateQueue(root, (q) => (settleEntries(q), q)) : peek;
}

export class QueueRunner implements Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(q: QueueData) => void>();
  private last: QueueData | undefined;
  /** The last output line of the runs this runner started that ended, by pid (a config error says why). */
  private readonly lastLines = new Map<number, string>();
  /** The runs this runner started whose exit has not been handled yet. */
  private readonly exiting = new Set<number>();
  private disposed = false;

  constructor(
    private readonly manager: RunManager,
    private readonly options: QueueRunnerOptions,
  ) {}

  get root(): string {
    return path.resolve(this.options.root);
  }

  private get parallel(): number {
    const p = typeof this.options.parallel === 'function' ? this.options.parallel() : this.options.parallel;
    return p !== undefined && Number.isFinite(p) ? Math.max(1, Math.floor(p)) : 1;
  }

  /** Look at the queue every `pollMs` from now on (and once right away). */
  start(): this {
    if (!this.timer && !this.disposed) {
      this.timer = setInterval(() => this.safeTick(), this.options.pollMs ?? 1000);
      this.safeTick();
    }
    return this;
  }

  /** Called with the queue after each tick that changed it (or the first). */
  onChange(listener: (q: QueueData) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private safeTick(): void {
    try {
      this.tick();
    } catch (e) {
      // Another process is changing the queue: the next tick tries again (a lock held past
      // LOCK_STALE_MS is taken over, so this does not last).
      if (e instanceof QueueLockBusy) return;
      // A broken queue file (hand-edited): say so once, and wait for a fix.
      const message = (e as Error).message;
      if (message !== this.lastError) for (const l of [...this.errorListeners]) l(e as Error);
      this.lastError = message;
    }
  }

  /** Called when a tick fails (a queue file that cannot be read), once per distinct message. */
  onError(listener: (e: Error) => void): Disposable {
    this.errorListeners.add(listener);
    return { dispose: () => this.errorListeners.delete(listener) };
  }

  private lastError: string | undefined;
  private readonly errorListeners = new Set<(e: Error) => void>();

  /**
   * One step: settle the started entries (adopt the living, end the dead), then start queued ones
   * up to the limit unless the queue is paused or held (`mayStart`). Returns the queue as written.
   */
  tick(): QueueData {
    if (this.disposed) throw new Error('the queue runner is closed');
    // Most ticks find nothing to do: read without the lock (and create nothing in a workspace without a queue).
    const peek = readQueue(this.root);
    const starts = () => this.options.mayStart?.() ?? true;
    // Something to write: an entry to settle, or one to start. An entry running elsewhere (another
    // host's, or committed with the repository) stays running: looking at it needs no lock.
    const settles = peek.entries.some((e) => awaitingVerdict(e, this.exiting) && !verdict(e).running);
    const room = peek.entries.filter((e) => e.state === 'running').length < this.parallel;
    const busy = settles || (room && !peek.paused && peek.entries.some((e) => e.state === 'queued') && starts());
    const q = !busy ? peek : updateQueue(this.root, (q) => {
      settleEntries(q, this.lastLines, this.exiting);
      if (q.paused || !starts()) return q;
      let running = q.entries.filter((e) => e.state === 'running').length;
      for (const e of q.entries) {
        if (running >= this.parallel) break;
        if (e.state !== 'queued') continue;
        this.startEntry(e);
        running++;
      }
      return q;
    }, { waitMs: LOCK_WAIT_MS });
    this.lastError = undefined;
    const changed = JSON.stringify(q) !== JSON.stringify(this.last);
    this.last = q;
    if (changed) for (const l of [...this.listeners]) l(q);
    return q;
  }

  private startEntry(e: QueueEntry): void {
    const config = path.resolve(this.root, e.config);
    const parent = path.join(this.root, 'work_dirs', configStem(config));
    const runDir = path.join(parent, newRunId(parent));
    e.host = os.hostname();
    e.runDir = runDir;
    delete e.reason;
    try {
      const run = this.manager.train({ config, cwd: this.root, workDir: runDir, args: [...e.overrides, ...(this.options.trainArgs ?? [])], detached: this.options.detached ?? true, env: this.options.env });
      // After the spawn: a process whose start is later than this is another one reusing the pid.
      e.started = new Date().toISOString();
      e.pid = run.pid;
      e.state = run.pid > 0 ? 'running' : 'failed';
      if (run.pid <= 0) e.reason = 'the process did not start';
      else this.exiting.add(run.pid);
      // Settle it as soon as it ends rather than at the next poll (which waits for this: a poll
      // between the process's end and its output being read would lose why it failed).
      void run.exited.then(() => {
        // The error's own line (`file:line:col: error: ...`, `Error: ...`), not a summary or stack frame below it.
        const lines = run.tail(30).split('\n').filter((l) => l.trim() && !/^\s+at /.test(l));
        const last = (lines.filter((l) => /error/i.test(l)).pop() ?? lines.pop())?.trim();
        if (last) this.lastLines.set(run.pid, last.slice(0, 500));
        this.exiting.delete(run.pid);
        if (!this.disposed) this.safeTick();
      });
    } catch (err) {
      e.state = 'failed';
      e.reason = (err as Error).message;
    }
  }

  /** Stop looking at the queue. Runs it started go on (detached) and are adopted by the next runner. */
  dispose(): void {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    this.errorListeners.clear();
  }
}
