/**
 * Discover and follow runs: watch `work_dirs` folders with chokidar, so that a run started in a
 * terminal shows up and updates exactly like one started from the editor (ARCHITECTURE.md, "Run directory").
 *
 *   const watcher = await RunWatcher.start(['/ws/work_dirs']);
 *   watcher.onChange(({ kind, run, previous }) => ...);      // added | changed | removed
 *   const f = watcher.followMetrics(run.dir, ({ records, reset }) => ...);  // incremental
 *   f.dispose(); await watcher.close();
 *
 * A run directory is a folder holding run.json, one or two levels below a root
 * (`<root>/<config stem>/<run id>/` as `cvw train` writes them, or `<root>/<name>/` for a
 * `--work-dir` placed there). Only run.json and metrics.jsonl are watched; checkpoints are not.
 * Runs that are or say they are `running` are read again every `livenessMs`, so a killed trainer
 * turns `interrupted` or `crashed`, and a finished one whose lock went after its last write turns
 * `finished`, without anyone writing to its folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { MetricsFollower, interpretRun, readRunRecord, RUN_FILES, runFile, type MetricsRead, type RunRecord } from '../rundir';

export interface RunChange {
  kind: 'added' | 'changed' | 'removed';
  /** The run now (for `removed`: as last seen). */
  run: RunRecord;
  /** The run as seen before this change (for `changed` and `removed`). */
  previous?: RunRecord;
}

export interface Disposable {
  dispose(): void;
}

export interface RunWatcherOptions {
  /** How often runs that say `running` are checked for a live process (ms; default 2000). */
  livenessMs?: number;
  /** Poll the file system instead of native events (network drives). */
  usePolling?: boolean;
}

/** Bytes of metrics.jsonl read per batch handed to a listener (some 20-40 thousand lines). */
const DELIVER_BYTES = 4 << 20;

interface Follower {
  dir: string;
  metrics: MetricsFollower;
  listener: (read: MetricsRead) => void;
  /** The rest of a backlog being handed over, one batch per turn of the event loop. */
  backlog?: NodeJS.Immediate;
}

export class RunWatcher {
  private readonly records = new Map<string, RunRecord>();
  private readonly listeners = new Set<(change: RunChange) => void>();
  private readonly followers = new Set<Follower>();
  private readonly pendingRoots = new Set<string>();
  private ticks = 0;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly fsWatcher: FSWatcher,
    private readonly roots: Set<string>,
    options: RunWatcherOptions,
  ) {
    fsWatcher.on('all', (event, file) => this.onFsEvent(event, file));
    // Errors of the watcher (a folder removed while being read) must not take the host down.
    fsWatcher.on('error', () => undefined);
    this.timer = setInterval(() => this.tick(), options.livenessMs ?? 2000);
    this.timer.unref();
  }

  /** Watch `roots` (folders that may not exist yet); resolves once the runs already there are read. */
  static async start(roots: string[], options: RunWatcherOptions = {}): Promise<RunWatcher> {
    const rootSet = new Set<string>();
    const fsWatcher = watch([], {
      ignoreInitial: true,
      depth: 3,
      usePolling: options.usePolling,
      interval: 500,
      ignored: (p: string) => RunWatcher.ignored(rootSet, p),
    });
    const watcher = new RunWatcher(fsWatcher, rootSet, options);
    await watcher.addRoots(roots);
    return watcher;
  }

  /** Paths deeper than a run's own files, and a run's files other than run.json and metrics.jsonl. */
  private static ignored(roots: Set<string>, p: string): boolean {
    for (const root of roots) {
      const rel = path.relative(root, p);
      if (rel === '') return false;
      if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
      const parts = rel.split(path.sep);
      if (parts.length > 3) return true;
      if (parts.length === 3) return parts[2] !== RUN_FILES.run && parts[2] !== RUN_FILES.metrics;
      return false;
    }
    // Above a root (chokidar watches the parent of a root that does not exist yet): only the way down.
    return ![...roots].some((root) => root.startsWith(p + path.sep));
  }

  /** Watch more roots (folders that may not exist yet); resolves once their runs are read. */
  async addRoots(roots: string[]): Promise<void> {
    const fresh = [...new Set(roots.map((r) => path.resolve(r)))].filter((r) => !this.roots.has(r));
    if (!fresh.length) return;
    for (const r of fresh) {
      this.roots.add(r);
      this.watchRoot(r);
    }
  }

  /** Watch exactly `roots`: new ones are added; the runs of the others leave (a workspace folder closed). */
  async setRoots(roots: string[]): Promise<void> {
    const keep = new Set(roots.map((r) => path.resolve(r)));
    for (const root of [...this.roots]) {
      if (keep.has(root)) continue;
      this.roots.delete(root);
      this.pendingRoots.delete(root);
      this.fsWatcher.unwatch(root);
      for (const dir of [...this.records.keys()]) if (dir.startsWith(root + path.sep)) this.remove(dir);
    }
    await this.addRoots([...keep]);
  }

  /**
   * chokidar waits for a missing folder to appear only when its parent exists; a root further
   * from existing is looked for at each liveness tick instead.
   */
  private watchRoot(root: string): void {
    if (!fs.existsSync(root) && !fs.existsSync(path.dirname(root))) {
      this.pendingRoots.add(root);
      return;
    }
    this.pendingRoots.delete(root);
    this.fsWatcher.add(root);
    // chokidar's 'ready' can come before its scan of added paths is done: read what is there
    // now, directly (its own events for the same files then change nothing).
    this.scan(root);
  }

  get watchedRoots(): string[] {
    return [...this.roots];
  }

  /** Every known run, newest first. */
  runs(): RunRecord[] {
    return [...this.records.values()].sort((a, b) => b.startedMs - a.startedMs);
  }

  get(dir: string): RunRecord | undefined {
    return this.records.get(path.resolve(dir));
  }

  /** Call `listener` on every change; returns its disposer. */
  onChange(listener: (change: RunChange) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /**
   * Follow a run's metrics.jsonl: `listener` is called at once with the records the file holds
   * (a backlog of more than a few MiB: its first batch at once, `more: true`, the others one per
   * turn of the event loop), then with each batch appended (read from where the previous read
   * stopped), and with `reset: true` when the file was rewritten (a resumed run drops lines after
   * its checkpoint).
   */
  followMetrics(dir: string, listener: (read: MetricsRead) => void): Disposable {
    const follower: Follower = { dir: path.resolve(dir), metrics: new MetricsFollower(runFile(dir, 'metrics')), listener };
    this.followers.add(follower);
    this.deliver(follower);
    return {
      dispose: () => {
        clearImmediate(follower.backlog);
        this.followers.delete(follower);
      },
    };
  }

  /** Read a run's run.json again now (after starting or stopping it, not to wait for the event). */
  refresh(dir: string): RunRecord | undefined {
    this.update(path.resolve(dir));
    return this.get(dir);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.followers.clear();
    this.listeners.clear();
    await this.fsWatcher.close();
  }

  /** Read the runs under `root` (only those not known yet, with `onlyNew`). */
  private scan(root: string, onlyNew = false): void {
    const visit = (dir: string, depth: number) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      if (depth > 0 && entries.some((e) => e.isFile() && e.name === RUN_FILES.run) && !(onlyNew && this.records.has(dir))) this.update(dir);
      if (depth < 2) for (const e of entries) if (e.isDirectory()) visit(path.join(dir, e.name), depth + 1);
    };
    visit(root, 0);
  }

  private onFsEvent(event: string, file: string): void {
    if (this.closed) return;
    const name = path.basename(file);
    if (event === 'unlinkDir') {
      for (const dir of [...this.records.keys()]) if (dir === file || dir.startsWith(file + path.sep)) this.remove(dir);
      return;
    }
    if (name === RUN_FILES.run) {
      if (event === 'unlink') this.remove(path.dirname(file));
      else this.update(path.dirname(file));
    } else if (name === RUN_FILES.metrics) {
      const dir = path.dirname(file);
      for (const f of this.followers) if (f.dir === dir) this.deliver(f);
    }
  }

  private update(dir: string): void {
    const previous = this.records.get(dir);
    const run = readRunRecord(dir);
    if (!run) {
      // Unreadable for a moment (replaced between two reads): keep what we had.
      if (previous && !fs.existsSync(runFile(dir, 'run'))) this.remove(dir);
      return;
    }
    this.records.set(dir, run);
    // The same state seen again (a second event for one write) is no change.
    if (previous && previous.mtimeMs === run.mtimeMs && previous.state === run.state) return;
    this.emit({ kind: previous ? 'changed' : 'added', run, previous });
  }

  private remove(dir: string): void {
    const previous = this.records.get(dir);
    if (!previous) return;
    this.records.delete(dir);
    this.emit({ kind: 'removed', run: previous, previous });
  }

  private emit(change: RunChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch {
        // one listener's failure must not starve the others
      }
    }
  }

  /**
   * Hand what was appended to the listener, a few MiB at a time and one batch per turn of the
   * event loop: the backlog of a run of millions of lines arrives as several batches (the first one
   * `reset` when the file was rewritten), never as one array of all its records, and the extension
   * host answers between them. A call while a backlog is being handed over adds nothing: the
   * backlog reads on to the file's end.
   */
  private deliver(follower: Follower, backlog?: Generator<MetricsRead>): void {
    if (!backlog && follower.backlog) return;
    const batches = backlog ?? follower.metrics.batches(DELIVER_BYTES);
    follower.backlog = undefined;
    let next: IteratorResult<MetricsRead>;
    try {
      next = batches.next();
    } catch {
      return; // unreadable now: the next event or tick tries again
    }
    if (next.done) return;
    if (next.value.more) {
      follower.backlog = setImmediate(() => {
        if (!this.followers.has(follower)) return;
        try {
          this.deliver(follower, batches);
        } catch {
          // the listener's own failure, off its caller's stack: not the extension host's to crash on
        }
      });
    }
    if (next.value.records.length || next.value.reset) follower.listener(next.value);
  }

  /**
   * Re-check runs that say `running` (their process may have died), and, as a safety net for
   * file events lost in a race with chokidar setting up a folder's watch: poll followed metrics,
   * drop runs whose run.json is gone, and look for new runs every few ticks.
   */
  private tick(): void {
    this.ticks++;
    for (const dir of [...this.records.keys()]) if (!fs.existsSync(runFile(dir, 'run'))) this.remove(dir);
    if (this.ticks % 5 === 0) for (const root of this.roots) if (!this.pendingRoots.has(root)) this.scan(root, true);
    for (const root of [...this.pendingRoots]) if (fs.existsSync(path.dirname(root))) this.watchRoot(root);
    // A root created while chokidar was still setting up the watch of its parent goes unseen by
    // it: watch it again once it exists, and pick up the runs it already holds.
    const watched = this.fsWatcher.getWatched();
    for (const root of this.roots) {
      if (this.pendingRoots.has(root) || watched[root] || !fs.existsSync(root)) continue;
      this.fsWatcher.unwatch(root);
      this.fsWatcher.add(root);
      this.scan(root, true);
    }
    for (const [dir, run] of this.records) {
      // Read again every run that is or says it is running: a run.json read while the trainer
      // still held the run's lock (it writes `finished`, then lets go) reads `running`, and
      // nothing is written to the folder when the lock goes.
      if (run.info.status !== 'running' && run.state !== 'running') continue;
      // One whose process is known dead stays so until its record is rewritten or a resume takes
      // its lock: two stats, not a read and a liveness check, for each of a folder of crashed runs.
      const mtimeMs = mtimeOf(runFile(dir, 'run'));
      if ((run.state === 'crashed' || run.state === 'interrupted') && !fs.existsSync(runFile(dir, 'lock')) && mtimeMs === run.mtimeMs) continue;
      // An unchanged run.json is judged again (its lock, its process), not read again: a large
      // one (up to the reader's 16 MiB) costs seconds to parse, every tick.
      const now = mtimeMs === run.mtimeMs ? interpretRun(dir, run.info, run.mtimeMs) : readRunRecord(dir);
      if (now && (now.state !== run.state || now.mtimeMs !== run.mtimeMs)) {
        this.records.set(dir, now);
        this.emit({ kind: 'changed', run: now, previous: run });
      }
    }
    // Every followed file, whatever its run's state: a run's last lines can be written after its
    // run.json says it finished, and a file event lost then would leave them unread for good.
    // A read of an unchanged file is an open and a stat.
    for (const f of this.followers) this.deliver(f);
  }
}

function mtimeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}
