/**
 * Start, stop and resume `cvw` processes: training never runs in the editor's process (ARCHITECTURE.md),
 * the run manager spawns `cvw train` as a child and the run directory tells everyone else.
 *
 * - `train()` picks the run directory itself (`work_dirs/<config stem>/<run id>`, passed with
 *   `--work-dir`), so the editor knows where the run lives before the first line is written; the
 *   child's stdout and stderr go to `<run>/output.log` (a file, not a pipe: a run started detached
 *   keeps writing it after the editor is gone, and anyone can follow it).
 * - `stop()` sends SIGINT — the trainer finishes its step, writes a last checkpoint and exits with
 *   status `stopped` — waits, and kills only when the grace period passes. It works on any running
 *   run by its pid, also those started in a terminal or by an earlier editor session.
 * - `resume()` runs `cvw train --resume <run>`.
 * - Runs not started detached are stopped (SIGINT) when the manager is disposed (editor closing).
 * - `exec()` runs any other `cvw` command (eval, export, benchmark) with its output piped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appendToFile, CHECKPOINTS, checkpointFile, checkpointName, FileFollower, openForAppend, readRunRecord, recordOutOfMemory, writerLiveness, RUN_FILES, runFile } from '../rundir';
import type { CvwLocation, NodeRuntime } from './cvw';
import type { Disposable } from './watcher';
import { newRunId } from '../core/runId';
import { stopSlurmRun } from './slurmStop';
import { withMallocTunables } from '../core/mallocTunables';
import { makeDirs } from '../core/makeDirs';
import { outOfMemoryNote, watchOutOfMemoryKills } from '../core/memoryLimit';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CvwInvocation {
  node: NodeRuntime;
  cvw: CvwLocation;
}

/** How much output a process keeps in memory for late listeners and error reports. */
const BACKLOG_CHARS = 256 * 1024;

/** A `cvw` child process: its output (as it arrives, with what came before) and its exit. */
export class ManagedProcess {
  readonly pid: number;
  /** Resolves when the process has exited and its output has been delivered. */
  readonly exited: Promise<ExitInfo>;
  private backlog = '';
  private readonly listeners = new Set<(text: string) => void>();
  private exitInfo: ExitInfo | undefined;
  /** Called once the process exited, before the exit is announced: deliver the last output. */
  protected flush: () => void = () => undefined;

  constructor(
    protected readonly child: ChildProcess,
    /** The full command line: node, script, arguments. */
    readonly argv: string[],
    readonly cwd: string,
    onExit: (self: ManagedProcess) => void = () => undefined,
  ) {
    // spawn() reports a missing executable through 'error', with no pid.
    this.pid = child.pid ?? -1;
    const killedForMemory = watchOutOfMemoryKills(child);
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exitInfo) return;
        this.flush();
        // argv: node, the cvw script, the command.
        if (killedForMemory(signal)) this.outOfMemory(argv[2]);
        this.exitInfo = { code, signal };
        onExit(this);
        resolve(this.exitInfo);
      };
      child.once('exit', (code, signal) => setImmediate(() => done(code, signal)));
      child.once('error', (err) => {
        this.push(`${err.message}\n`);
        done(null, null);
      });
    });
  }

  /** Still running (as far as the child's events say). */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Deliver output to listeners and keep the latest part. */
  protected push(text: string): void {
    if (!text) return;
    this.backlog = (this.backlog + text).slice(-BACKLOG_CHARS);
    for (const l of [...this.listeners]) l(text);
  }

  /** The out-of-memory killer ended the process (`cvw <command>`): say so at the end of its output. */
  protected outOfMemory(command: string): void {
    this.push(outOfMemoryNote(command));
  }

  /** Call `listener` with the output so far (the latest 256 KiB), then with each new piece. */
  onOutput(listener: (text: string) => void): Disposable {
    if (this.backlog) listener(this.backlog);
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** The last `lines` lines of output. */
  tail(lines = 20): string {
    return this.backlog.replace(/\n+$/, '').split('\n').slice(-lines).join('\n');
  }

  signal(signal: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      return this.child.kill(signal);
    } catch {
      return false;
    }
  }
}

/** A child whose stdout and stderr are pipes (eval, export, benchmark). */
export class PipedProcess extends ManagedProcess {
  constructor(child: ChildProcess, argv: string[], cwd: string, onExit: (self: ManagedProcess) => void) {
    super(child, argv, cwd, onExit);
    const decoder = new TextDecoder();
    const push = (chunk: Buffer) => this.push(decoder.decode(chunk, { stream: true }));
    child.stdout?.on('data', push);
    child.stderr?.on('data', push);
  }
}

/** A `cvw train` child: its run directory and whether it outlives the editor. */
export class ManagedRun extends ManagedProcess {
  constructor(
    child: ChildProcess,
    argv: string[],
    cwd: string,
    readonly runDir: string,
    readonly detached: boolean,
    readonly kind: 'train' | 'resume',
    output: FileFollower,
    onExit: (self: ManagedProcess) => void,
  ) {
    super(child, argv, cwd, onExit);
    const read = () => {
      try {
        const { lines } = output.read();
        if (lines.length) this.push(lines.map((l) => l + '\n').join(''));
      } catch {
        // the folder was removed under us
      }
    };
    // Follow output.log while the child runs (a few reads per second, each only what is new).
    const timer = setInterval(read, 150);
    timer.unref();
    this.flush = () => {
      clearInterval(timer);
      read();
    };
  }

  /** Also in output.log, for whoever opens the run's output later, and in run.json, for every view of the run. */
  protected override outOfMemory(command: string): void {
    super.outOfMemory(command);
    try {
      appendToFile(runFile(this.runDir, 'output'), 'run output', outOfMemoryNote(command));
      recordOutOfMemory(this.runDir);
    } catch {
      // the folder was removed under us
    }
  }
}

export interface TrainRequest {
  /** The config file (absolute, or relative to `cwd`). */
  config: string;
  /** The working directory: `work_dirs/` and relative paths of the config are resolved from it. */
  cwd: string;
  /** More `cvw train` arguments: options (`--max-iters 5`) and dotted-key overrides. */
  args?: string[];
  /** `--backend` (the engine), when not the config's. */
  backend?: string;
  /** The run directory (default `<cwd>/work_dirs/<config stem>/<run id>`). */
  workDir?: string;
  /** Keep running when the editor closes. */
  detached?: boolean;
  env?: Record<string, string>;
}

export interface ResumeRequest {
  runDir: string;
  /** Default: the folder above `work_dirs/` of the run, else the run's parent. */
  cwd?: string;
  args?: string[];
  backend?: string;
  detached?: boolean;
  env?: Record<string, string>;
}

export { newRunId };

export type StopOutcome = 'stopped' | 'killed' | 'not-running';

export function configStem(config: string): string {
  return path.basename(config).replace(/\.(ya?ml|json)$/i, '');
}

/** The working directory a run was started from: the folder holding its `work_dirs/`. */
export function runCwd(runDir: string): string {
  const parts = path.resolve(runDir).split(path.sep);
  const i = parts.lastIndexOf('work_dirs');
  return i > 0 ? parts.slice(0, i).join(path.sep) || path.sep : path.dirname(runDir);
}

async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * The environment of a `cvw` process started here: the runtime's, debug output on, and glibc's
 * malloc settings for the engine set from the start (so `cvw` need not relaunch itself under them).
 */
function cvwEnv(node: NodeRuntime, extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  return withMallocTunables({ ...process.env, ...node.env, CVW_DEBUG: '1', ...extra });
}

export class RunManager {
  private readonly children = new Set<ManagedProcess>();
  private readonly startListeners = new Set<(p: ManagedProcess) => void>();
  private readonly exitHook = () => this.interruptAttached();
  private disposed = false;

  /** `invocation` is asked at each start (settings may change in between). */
  constructor(private readonly invocation: (cwd: string) => CvwInvocation) {
    process.on('exit', this.exitHook);
  }

  /** Processes started by this manager that are still running. */
  running(): ManagedProcess[] {
    return [...this.children].filter((c) => c.running);
  }

  /** The running `cvw train` this manager started for `runDir`. */
  runFor(runDir: string): ManagedRun | undefined {
    const dir = path.resolve(runDir);
    return this.running().find((c): c is ManagedRun => c instanceof ManagedRun && c.runDir === dir);
  }

  /** Call `listener` for every process this manager starts. */
  onStart(listener: (p: ManagedProcess) => void): Disposable {
    this.startListeners.add(listener);
    return { dispose: () => this.startListeners.delete(listener) };
  }

  train(req: TrainRequest): ManagedRun {
    const cwd = path.resolve(req.cwd);
    const config = path.resolve(cwd, req.config);
    const runDir = req.workDir ? path.resolve(cwd, req.workDir) : path.join(cwd, 'work_dirs', configStem(config), newRunId(path.join(cwd, 'work_dirs', configStem(config))));
    const args = ['train', config, '--work-dir', runDir, ...(req.backend ? ['--backend', req.backend] : []), ...(req.args ?? [])];
    return this.startRun('train', runDir, cwd, args, req);
  }

  resume(req: ResumeRequest): ManagedRun {
    const runDir = path.resolve(req.runDir);
    const record = readRunRecord(runDir);
    if (!record) throw new Error(`${runDir}: not a run directory (no readable ${RUN_FILES.run})`);
    if (record.state === 'running') throw new Error(`${runDir}: the run is still running (pid ${record.info.pid})`);
    if (!fs.existsSync(checkpointFile(runDir, CHECKPOINTS.latest))) throw new Error(`${runDir}: the run has no checkpoint to resume from (${checkpointName(CHECKPOINTS.latest)}); train it again instead`);
    const args = ['train', '--resume', runDir, ...(req.backend ? ['--backend', req.backend] : []), ...(req.args ?? [])];
    return this.startRun('resume', runDir, req.cwd ? path.resolve(req.cwd) : runCwd(runDir), args, req);
  }

  private startRun(kind: 'train' | 'resume', runDir: string, cwd: string, args: string[], req: { detached?: boolean; env?: Record<string, string> }): ManagedRun {
    if (this.disposed) throw new Error('the run manager is closed');
    const { node, cvw } = this.invocation(cwd);
    makeDirs(runDir);
    const outputFile = runFile(runDir, 'output');
    // A resumed run appends to the output of its earlier sessions (only as a file of the run: see openForAppend).
    const fd = openForAppend(outputFile, 'run output');
    const follower = new FileFollower(outputFile);
    // Follow only what is new.
    follower.skipToEnd();
    const argv = [node.command, cvw.entry, ...args];
    let child: ChildProcess;
    try {
      child = spawn(node.command, [cvw.entry, ...args], {
        cwd,
        detached: !!req.detached,
        stdio: ['ignore', fd, fd],
        env: cvwEnv(node, req.env),
        windowsHide: true,
      });
    } finally {
      fs.closeSync(fd);
    }
    if (req.detached) child.unref();
    const run = new ManagedRun(child, argv, cwd, runDir, !!req.detached, kind, follower, (p) => this.finished(p));
    this.started(run);
    return run;
  }

  /** Run another `cvw` command (`['eval', run]`, `['export', run]`, ...) with its output piped. */
  exec(args: string[], options: { cwd: string; env?: Record<string, string> }): ManagedProcess {
    if (this.disposed) throw new Error('the run manager is closed');
    const cwd = path.resolve(options.cwd);
    const { node, cvw } = this.invocation(cwd);
    const child = spawn(node.command, [cvw.entry, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: cvwEnv(node, options.env), windowsHide: true });
    const proc = new PipedProcess(child, [node.command, cvw.entry, ...args], cwd, (p) => this.finished(p));
    this.started(proc);
    return proc;
  }

  /**
   * Stop the run in `runDir`: SIGINT (a last checkpoint, status `stopped`), then SIGKILL when it has
   * not exited after `graceMs`. Works for runs this manager did not start (by run.json's pid).
   */
  async stop(runDir: string, options: { graceMs?: number } = {}): Promise<StopOutcome> {
    const managed = this.runFor(runDir);
    let pid: number | undefined;
    let alive: () => boolean;
    if (managed) {
      pid = managed.pid;
      alive = () => managed.running;
    } else {
      const record = readRunRecord(path.resolve(runDir));
      // A Slurm job: scancel, whichever hosts its ranks run on (slurmStop.ts).
      if (record?.info.slurm_job_id && (record.state === 'pending' || record.state === 'running')) return stopSlurmRun(record, options.graceMs ?? 60_000);
      if (!record || record.state !== 'running') return 'not-running';
      if (writerLiveness(record.info, record.mtimeMs) !== 'alive') return 'not-running';
      pid = record.info.pid;
      alive = () => writerLiveness(record.info) === 'alive';
    }
    if (!sendSignal(pid, 'SIGINT')) return 'not-running';
    if (await waitUntil(() => !alive(), options.graceMs ?? 60_000)) return 'stopped';
    sendSignal(pid, 'SIGKILL');
    await waitUntil(() => !alive(), 10_000);
    return 'killed';
  }

  /** Stop (SIGINT, not waiting) every run started here without `detached`; no more starts. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.interruptAttached();
    process.off('exit', this.exitHook);
  }

  private interruptAttached(): void {
    for (const c of this.running()) if (!(c instanceof ManagedRun && c.detached)) c.signal('SIGINT');
  }

  private started(p: ManagedProcess): void {
    this.children.add(p);
    for (const l of [...this.startListeners]) l(p);
  }

  private finished(p: ManagedProcess): void {
    this.children.delete(p);
    if (p instanceof ManagedRun && p.kind === 'train') removeIfNoRun(p.runDir);
  }
}

/**
 * A `cvw train` that failed before creating its run (a config error, a bad option) leaves a folder
 * holding only output.log; its text is in the process's output, so the folder goes.
 */
function removeIfNoRun(runDir: string): void {
  try {
    if (fs.existsSync(runFile(runDir, 'run'))) return;
    const entries = fs.readdirSync(runDir);
    if (entries.some((e) => e !== RUN_FILES.output)) return;
    fs.rmSync(runDir, { recursive: true, force: true });
    const parent = path.dirname(runDir);
    if (fs.readdirSync(parent).length === 0) fs.rmdirSync(parent);
  } catch {
    // already gone, or not ours to clean
  }
}

function sendSignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
