/**
 * A run directory as readers see it: run.json parsed, plus what the reader adds — whether a run
 * that says `running` really is (its process may be gone), whether it can be resumed, how long it
 * ran. Pure Node: the extension, the panels and tools share it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunInfo } from '../train/runDir';
import { processLiveness } from './liveness';
import { readRunLock, RUN_LOCK } from '../train/runLock';
import { readRegularFile } from '../core/boundedRead';
import { slurmQueue, slurmRunState, type SlurmRunView } from './slurmQueue';

export type { RunInfo };

/** The files of a run directory (the contract of DESIGN.md "Runs"). */
export const RUN_FILE = {
  run: 'run.json',
  config: 'config.yaml',
  metrics: 'metrics.jsonl',
  log: 'log.txt',
  checkpoints: 'checkpoints',
  latest: path.join('checkpoints', 'latest.safetensors'),
  /** What a run started from the editor printed (stdout and stderr), written by the run manager. */
  output: 'output.log',
  /** Held by the one process writing the run (runLock.ts). */
  lock: RUN_LOCK,
} as const;

/**
 * run.json's status, and two the reader adds for a run whose status says `running` but whose
 * process is gone: `interrupted` (a checkpoint exists: resume continues it) and `crashed` (none).
 */
export type RunState = 'pending' | 'running' | 'finished' | 'failed' | 'stopped' | 'interrupted' | 'crashed';

export interface RunRecord {
  /** Absolute run directory. */
  dir: string;
  info: RunInfo;
  state: RunState;
  /** A checkpoints/latest exists and the run is not running: `cvw train --resume` continues it. */
  resumable: boolean;
  /** The config stem the run belongs to (run.json's, else the parent folder's name). */
  group: string;
  /** Started, and ended (run.json's `ended`, else the last write of run.json for a dead run), in ms. */
  startedMs: number;
  endedMs?: number;
  /** run.json's modification time (ms). */
  mtimeMs: number;
  /** A run submitted to Slurm, while the editor reads the queue: its job as squeue shows it (slurmQueue.ts). */
  slurm?: SlurmRunView;
}

const MAX_RUN_JSON_BYTES = 16 << 20;

/** Read and interpret a run directory; undefined when it holds no readable run.json. */
export function readRunRecord(dir: string): RunRecord | undefined {
  const file = path.join(dir, RUN_FILE.run);
  let text: string;
  let mtimeMs: number;
  try {
    // A regular file of sane size: a FIFO named run.json in a cloned work_dirs would block the
    // editor's runs watcher, /dev/zero would fill its memory.
    text = readRegularFile(file, { what: 'run file', maxBytes: MAX_RUN_JSON_BYTES }).toString('utf8');
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  let info: RunInfo;
  try {
    info = JSON.parse(text) as RunInfo;
  } catch {
    return undefined;
  }
  if (!info || typeof info !== 'object' || typeof info.status !== 'string') return undefined;
  return interpretRun(dir, info, mtimeMs);
}

export function interpretRun(dir: string, info: RunInfo, mtimeMs: number): RunRecord {
  const hasCheckpoint = fs.existsSync(path.join(dir, RUN_FILE.latest));
  let state: RunState = info.status;
  // e.g. a resume that has taken the lock and not yet rewritten run.json; not `cvw submit` recording
  // a pending run (nor rank 0 of its job about to write `running`).
  if (info.status !== 'pending' && lockHeldByLiveProcess(dir)) state = 'running';
  else if (info.status === 'running' && processLiveness(info.pid, { hostname: info.hostname, startedBy: mtimeMs }) === 'dead') {
    state = hasCheckpoint ? 'interrupted' : 'crashed';
  }
  const slurm = typeof info.slurm_job_id === 'string' && slurmQueue() ? slurmRunState(info.slurm_job_id, state, hasCheckpoint, mtimeMs, slurmQueue()) : undefined;
  if (slurm) state = slurm.state;
  const startedMs = Date.parse(info.started);
  const endedMs = info.ended ? Date.parse(info.ended) : state === 'interrupted' || state === 'crashed' ? mtimeMs : undefined;
  return {
    dir,
    info,
    state,
    resumable: state !== 'running' && state !== 'finished' && hasCheckpoint,
    group: (typeof info.config_stem === 'string' && info.config_stem) || path.basename(path.dirname(dir)),
    startedMs: Number.isFinite(startedMs) ? startedMs : mtimeMs,
    endedMs: endedMs !== undefined && Number.isFinite(endedMs) ? endedMs : undefined,
    mtimeMs,
    ...(slurm ? { slurm } : {}),
  };
}

/** The run's lock is held by a process alive on this host (a stale lock of a dead one is not). */
function lockHeldByLiveProcess(dir: string): boolean {
  const holder = readRunLock(dir);
  return !!holder && processLiveness(holder.pid, { hostname: holder.hostname, startedBy: Date.parse(holder.started) }) === 'alive';
}

/** True for the states whose process is (as far as one can tell) working. */
export function isActive(state: RunState): boolean {
  return state === 'running';
}
