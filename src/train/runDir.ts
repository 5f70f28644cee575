/**
 * The run directory: the one interface between the trainer and everything else (DESIGN.md).
 *
 *   work_dirs/<config-stem>/<run-id>/
 *     run.json        status, pid, config, engine, times, progress, best metric, error
 *     config.yaml     the fully resolved config that ran
 *     metrics.jsonl   one JSON object per line
 *     log.txt         the human log
 *     checkpoints/    epoch_N, latest, best (safetensors, written atomically)
 *     run.lock        while a process writes the run: who (runLock.ts)
 *
 * run.json is rewritten atomically (temp + rename) so readers never see half of it; metrics and
 * log lines are appended with single writes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { stringify } from 'yaml';
import { writeAtomic } from './checkpoint';
import { UserError } from '../core/problems';
import type { RunStatus } from './hook';
import { newRunId } from '../core/runId';
import { RunLock } from './runLock';

export interface RunInfo {
  /** `pending`: submitted to a scheduler (Slurm), not started yet. */
  status: RunStatus | 'pending';
  pid: number;
  hostname: string;
  /** The config file the run was started from (absolute), and its stem. */
  config: string;
  config_stem: string;
  run_id: string;
  command: string[];
  cvw_version: string;
  engine?: { backend: string; engine?: string; reason?: string };
  started: string;
  ended?: string;
  /** Progress at the last update. */
  epoch: number;
  iter: number;
  max_iters: number;
  max_epochs: number;
  /** Latest training loss and the best evaluation metric so far. */
  last_loss?: number;
  best?: { metric: string; value: number; iter: number; epoch: number };
  /** Final evaluation metrics. */
  metrics?: Record<string, number>;
  error?: { message: string; stack?: string; iter?: number };
  resumed_from?: string[];
  /** Data-parallel runs: the number of ranks and each rank's host (rank order). */
  world_size?: number;
  hosts?: string[];
  /** Runs submitted to Slurm: the job id, and when it was submitted. */
  slurm_job_id?: string;
  submitted?: string;
}

export { newRunId };

export const RUN_FILES = { run: 'run.json', config: 'config.yaml', metrics: 'metrics.jsonl', log: 'log.txt', checkpoints: 'checkpoints' } as const;

export class RunDir {
  private info: RunInfo;

  private constructor(
    readonly dir: string,
    info: RunInfo,
    /** Held from create/reopen to close: one writer per run (none for another rank's follower). */
    readonly lock: RunLock | undefined,
    /** Where log lines go (log.txt; log.rank<N>.txt of the run for a follower). */
    private readonly logPath = path.join(dir, RUN_FILES.log),
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
    return new RunDir(scratch, { ...info, pid: process.pid, hostname: os.hostname() }, undefined, path.join(runDir, `log.rank${rank}.txt`), scratch, runDir);
  }

  /**
   * Create a new run directory (refusing one that already holds a run). The folder may exist (the
   * editor creates it for its output.log); the run's lock is taken before anything is written, so
   * of two processes creating the same directory one wins and the other is refused. `cvw submit`
   * creates it `pending` (readers show it so from the first write).
   */
  static create(dir: string, info: Omit<RunInfo, 'pid' | 'hostname' | 'started' | 'status'>, status: 'running' | 'pending' = 'running'): RunDir {
    fs.mkdirSync(dir, { recursive: true });
    return withLock(dir, (lock) => {
      // A run submitted to Slurm (`pending`) is started in the directory its record is in.
      const pending = fs.existsSync(path.join(dir, RUN_FILES.run)) ? readRunInfo(dir) : undefined;
      if (pending && pending.status !== 'pending') {
        throw new UserError(`${dir} already holds a run; use --resume ${dir} to continue it, or another --work-dir`);
      }
      fs.mkdirSync(path.join(dir, RUN_FILES.checkpoints), { recursive: true });
      const submitted = pending ? { slurm_job_id: pending.slurm_job_id, submitted: pending.started } : {};
      const run = new RunDir(dir, { ...info, ...submitted, status, pid: process.pid, hostname: os.hostname(), started: new Date().toISOString() }, lock);
      run.flush();
      return run;
    });
  }

  /**
   * Open an existing run to continue it (resume): its lock, then status back to running, this
   * process's pid, and `patch` of run.json as it is once the lock is held.
   */
  static reopen(dir: string, patch: (previous: RunInfo) => Partial<RunInfo>): RunDir {
    return withLock(dir, (lock) => {
      const info = readRunInfo(dir);
      const run = new RunDir(dir, { ...info, ...patch(info), status: 'running', pid: process.pid, hostname: os.hostname(), ended: undefined, error: undefined }, lock);
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
    return path.join(this.dir, RUN_FILES.checkpoints, `${name}.safetensors`);
  }

  update(patch: Partial<RunInfo>): void {
    this.info = { ...this.info, ...patch };
    this.flush();
  }

  private flush(): void {
    writeAtomic(this.file(RUN_FILES.run), [JSON.stringify(this.info, null, 2) + '\n']);
  }

  writeConfig(config: Record<string, unknown>): void {
    writeAtomic(this.file(RUN_FILES.config), [`# Resolved config of run ${this.info.run_id} (from ${this.info.config})\n`, stringify(config)]);
  }

  appendMetrics(record: Record<string, unknown>): void {
    fs.appendFileSync(this.file(RUN_FILES.metrics), JSON.stringify(record) + '\n');
  }

  appendLog(line: string): void {
    fs.appendFileSync(this.logPath, line.endsWith('\n') ? line : line + '\n');
  }

  /**
   * Drop metric lines written after iteration `iter` (by a run that was killed after its last
   * checkpoint), so that a resumed run's metrics.jsonl reads like an uninterrupted run's.
   */
  truncateMetricsAfter(iter: number): number {
    const file = this.file(RUN_FILES.metrics);
    if (!fs.existsSync(file)) return 0;
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
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
export function makeNewRunDir(parent: string): string {
  fs.mkdirSync(parent, { recursive: true });
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

export function readRunInfo(dir: string): RunInfo {
  const file = path.join(dir, RUN_FILES.run);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as RunInfo;
  } catch (e) {
    throw new Error(`${file}: cannot read the run (${(e as Error).message})`);
  }
}

/** True when `dir` looks like a run directory. */
export function isRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, RUN_FILES.run));
}
