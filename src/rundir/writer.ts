/**
 * The run directory's one writer (the trainer's): run.json rewritten atomically (temp + rename) so
 * that readers never see half of it, config.yaml, metrics and log lines appended with single
 * writes, checkpoint paths, and the run's lock from creation to close. The files are listed in
 * files.ts, run.json's fields in schema.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { stringify } from 'yaml';
import { UserError } from '../core/problems';
import { newRunId } from '../core/runId';
import { readRegularFile } from '../core/boundedRead';
import { ownStartTime } from './liveness';
import { appendToFile, removeStaleTemporaries, writeAtomic, writeJsonAtomic } from './atomic';
import { checkpointFile, rankLogFile, RUN_FILES, runFile } from './files';
import { RunLock } from './lock';
import { readRunInfo } from './read';
import { RUN_INFO_VERSION, type RunInfo } from './schema';
import { makeDirs } from '../core/makeDirs';
import { endedForMemory } from '../core/memoryLimit';
import { isRunDir } from './files';

/**
 * What a new run's creator says about it (the rest is this process's and the clock's). A run is
 * named by its folder (run_id = the directory's basename), here and on resume.
 */
export type NewRunInfo = Omit<RunInfo, 'version' | 'pid' | 'hostname' | 'started' | 'status' | 'run_id'>;

export class RunDir {
  private info: RunInfo;

  private constructor(
    readonly dir: string,
    info: RunInfo,
    /** Held from create/reopen to close: one writer per run (none for another rank's follower). */
    readonly lock: RunLock | undefined,
    /** Where log lines go (log.txt; log.rank<N>.txt of the run for a follower). */
    private readonly logPath = runFile(dir, 'log'),
    /** A follower's scratch folder, removed at close. */
    private readonly scratch?: string,
    /** The run's directory (rank 0's, for a follower). */
    readonly runPath = dir,
  ) {
    this.info = info;
  }

  /**
   * The run as rank `rank` > 0 of a data-parallel run sees it: rank 0 alone writes the run
   * directory, this rank's log lines go to its log.rank<N>.txt, and what the trainer would write
   * besides (checkpoints, run.json, metrics) lands in a scratch folder removed at close, so the
   * hooks run the same code on every rank.
   */
  static follower(runDir: string, rank: number, info: RunInfo): RunDir {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `cvw-rank${rank}-`));
    fs.mkdirSync(path.join(scratch, RUN_FILES.checkpoints));
    return new RunDir(scratch, { ...info, pid: process.pid, pid_started: ownStartTime(), hostname: os.hostname() }, undefined, rankLogFile(runDir, rank), scratch, runDir);
  }

  /**
   * Create a new run directory (refusing one that already holds a run). The folder may exist (the
   * editor creates it for its output.log); the run's lock is taken before anything is written, so
   * of two processes creating the same directory one wins and the other is refused. `cvw submit`
   * creates it `pending` (readers show it so from the first write).
   */
  static create(dir: string, info: NewRunInfo, status: 'running' | 'pending' = 'running'): RunDir {
    makeDirs(dir);
    return withLock(dir, (lock) => {
      // A run submitted to Slurm (`pending`) is started in the directory its record is in.
      const pending = fs.existsSync(runFile(dir, 'run')) ? readRunInfo(dir) : undefined;
      if (pending && pending.status !== 'pending') {
        throw new UserError(`${dir} already holds a run; use --resume ${dir} to continue it, or another --work-dir`);
      }
      const leftovers = pending ? [] : runLeftovers(dir);
      if (leftovers.length) {
        throw new UserError(`${dir} holds files of a run (${leftovers.join(', ')}) but no run.json: training there would replace its checkpoints and mix two runs' metrics; use another --work-dir, or delete the folder`);
      }
      makeDirs(path.join(dir, RUN_FILES.checkpoints));
      const submitted = pending ? { slurm_job_id: pending.slurm_job_id, submitted: pending.started } : {};
      const run = new RunDir(dir, { version: RUN_INFO_VERSION, ...info, run_id: runIdOf(dir), ...submitted, status, pid: process.pid, pid_started: ownStartTime(), hostname: os.hostname(), started: new Date().toISOString() }, lock);
      run.flush();
      return run;
    });
  }

  /**
   * Open an existing run to continue it (resume): its lock, then status back to running, this
   * process's pid, and `patch` of run.json as it is once the lock is held. A copy of a run resumed
   * to extend it (more epochs) is a new run: it takes its folder's name. The time since the run
   * stopped is added to `paused_s`, so that its duration counts the time it ran.
   */
  static reopen(dir: string, patch: (previous: RunInfo) => Partial<RunInfo>): RunDir {
    return withLock(dir, (lock) => {
      const info = readRunInfo(dir);
      // Held by this process alone now: what a killed writer left half-written goes.
      for (const folder of [dir, path.join(dir, RUN_FILES.checkpoints)]) removeStaleTemporaries(folder);
      // Since it was last alive: its end, or for a killed run (no end) its record's last write.
      const lastAlive = info.ended ? Date.parse(info.ended) : fs.statSync(runFile(dir, 'run')).mtimeMs;
      const since = Date.now() - lastAlive;
      const paused_s = Math.round((info.paused_s ?? 0) + (Number.isFinite(since) ? Math.max(0, since) / 1000 : 0));
      const run = new RunDir(dir, { ...info, ...patch(info), run_id: runIdOf(dir), paused_s, status: 'running', pid: process.pid, pid_started: ownStartTime(), hostname: os.hostname(), ended: undefined, error: undefined }, lock);
      run.flush();
      return run;
    });
  }

  /** Let other processes write the run (releases its lock). */
  close(): void {
    this.lock?.release();
    if (this.scratch) fs.rmSync(this.scratch, { recursive: true, force: true });
  }

  get runInfo(): Readonly<RunInfo> {
    return this.info;
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  checkpointFile(name: string): string {
    return checkpointFile(this.dir, name);
  }

  update(patch: Partial<RunInfo>): void {
    this.info = { ...this.info, ...patch };
    this.flush();
  }

  private flush(): void {
    writeRunInfo(this.dir, this.info);
  }

  writeConfig(config: Record<string, unknown>): void {
    writeAtomic(this.file(RUN_FILES.config), [`# Resolved config of run ${this.info.run_id} (from ${this.info.config})\n`, stringify(config)]);
  }

  appendMetrics(record: Record<string, unknown>): void {
    appendMetrics(this.dir, record);
  }

  appendLog(line: string): void {
    appendToFile(this.logPath, 'run log', line.endsWith('\n') ? line : line + '\n');
  }

  /**
   * Drop metric lines written after iteration `iter` (by a run that was killed after its last
   * checkpoint), so that a resumed run's metrics.jsonl reads like an uninterrupted run's.
   */
  truncateMetricsAfter(iter: number): number {
    const file = this.file(RUN_FILES.metrics);
    if (!fs.existsSync(file)) return 0;
    const lines = readRegularFile(file, { what: 'metrics file' }).toString('utf8').split('\n').filter(Boolean);
    const kept = lines.filter((l) => {
      try {
        return (JSON.parse(l) as { iter?: number }).iter! <= iter;
      } catch {
        return false;
      }
    });
    if (kept.length !== lines.length) writeAtomic(file, [kept.map((l) => l + '\n').join('')]);
    return lines.length - kept.length;
  }
}

/** Take `dir`'s lock for `open`; released again when `open` throws. */
function withLock(dir: string, open: (lock: RunLock) => RunDir): RunDir {
  const lock = RunLock.acquire(dir);
  try {
    return open(lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * Make a new, empty run folder `<parent>/<run id>` for this process alone: the folder itself is
 * created without `recursive`, so two runs started in the same second get different ids.
 */
function runIdOf(dir: string): string {
  return path.basename(path.resolve(dir));
}

export function makeNewRunDir(parent: string): string {
  makeDirs(parent);
  for (;;) {
    const dir = path.join(parent, newRunId(parent));
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Rewrite run `dir`'s run.json (atomically); for the one writer of the run, or once it has ended. */
export function writeRunInfo(dir: string, info: RunInfo): void {
  writeJsonAtomic(runFile(dir, 'run'), info);
}

/** One line to run `dir`'s metrics.jsonl (a single append: readers never see half a line). */
export function appendMetrics(dir: string, record: Record<string, unknown>): void {
  appendToFile(runFile(dir, 'metrics'), 'run metrics', JSON.stringify(record) + '\n');
}

/** One line to run `dir`'s log.txt. */
export function appendLog(dir: string, line: string): void {
  appendToFile(runFile(dir, 'log'), 'run log', line.endsWith('\n') ? line : line + '\n');
}

/**
 * Record in run `dir`'s run.json why its writer died when the writer could not say (a rank that
 * mpirun saw die, the out-of-memory killer): status failed, `describe`'s message and the iteration
 * it reached, and a line in log.txt. For the process that started the writer, once it is gone;
 * `describe` returns undefined to leave the record as it is. The message, or undefined.
 */
export function recordDeath(dir: string, describe: (info: RunInfo) => string | undefined): string | undefined {
  if (!isRunDir(dir)) return undefined;
  const info = readRunInfo(dir);
  if (info.status === 'finished' || info.status === 'stopped') return undefined;
  const message = describe(info);
  if (message === undefined) return undefined;
  writeRunInfo(dir, { ...info, status: 'failed', ended: info.ended ?? new Date().toISOString(), error: { message, iter: info.iter } });
  appendLog(dir, `${new Date().toISOString()} failed: ${message}`);
  return message;
}

/** run.json of a trainer the out-of-memory killer ended while it was running. */
export function recordOutOfMemory(dir: string): void {
  recordDeath(dir, (info) => (info.status === 'running' ? `the training process was ${endedForMemory('train')}; it ended at iteration ${info.iter}. Continue with \`cvw train --resume ${dir}\`` : undefined));
}

/**
 * What a run leaves in its folder, found in `dir` (which has no run.json): a run whose record was
 * lost. The editor makes the folder and its output.log before `cvw train` starts: those are no run.
 */
function runLeftovers(dir: string): string[] {
  const files = [RUN_FILES.config, RUN_FILES.metrics, RUN_FILES.log].filter((f) => fs.existsSync(path.join(dir, f)));
  const folders = [RUN_FILES.checkpoints, RUN_FILES.eval, RUN_FILES.export].filter((f) => {
    try {
      return fs.readdirSync(path.join(dir, f)).length > 0;
    } catch {
      return false;
    }
  });
  return [...folders.map((f) => `${f}/`), ...files];
}
