/**
 * A run directory as readers see it: run.json parsed, plus what the reader adds — whether a run
 * that says `running` really is (its process may be gone), whether it can be resumed, how long it
 * ran. Pure Node: the extension, the panels and tools share it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHECKPOINTS, checkpointFile } from './files';
import { processLiveness, type Liveness } from './liveness';
import { readRunLock } from './lock';
import { tryReadRunInfo } from './read';
import type { RunInfo } from './schema';
import type { RunState } from './status';
import { slurmQueue, slurmRunState, type SlurmRunView } from './slurmQueue';

/** run.json and a reader's verdict on it: the view of the runs manager, the runs view and the notifier. */
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
  /**
   * The host of a run that says `running` on another machine (not a Slurm job this machine's queue
   * shows): whether it still runs there cannot be told from here, nor can it be signalled.
   */
  elsewhere?: string;
}

/** Read and interpret a run directory; undefined when it holds no readable run.json. */
export function readRunRecord(dir: string): RunRecord | undefined {
  const read = tryReadRunInfo(dir);
  return read && interpretRun(dir, read.info, read.mtimeMs);
}

export function interpretRun(dir: string, info: RunInfo, mtimeMs: number): RunRecord {
  const hasCheckpoint = fs.existsSync(checkpointFile(dir, CHECKPOINTS.latest));
  let state: RunState = info.status;
  let liveness: Liveness | undefined;
  // e.g. a resume that has taken the lock and not yet rewritten run.json; not `cvw submit` recording
  // a pending run (nor rank 0 of its job about to write `running`).
  if (info.status !== 'pending' && lockHeldByLiveProcess(dir)) state = 'running';
  else if (info.status === 'running') {
    liveness = writerLiveness(info, mtimeMs);
    if (liveness === 'dead') state = hasCheckpoint ? 'interrupted' : 'crashed';
  }
  const slurm = typeof info.slurm_job_id === 'string' && slurmQueue() ? slurmRunState(info.slurm_job_id, state, hasCheckpoint, mtimeMs, slurmQueue()) : undefined;
  if (slurm) state = slurm.state;
  const elsewhere = state === 'running' && !slurm && liveness === 'unknown' ? info.hostname || 'an unknown host' : undefined;
  const startedMs = Date.parse(info.started);
  const endedMs = info.ended ? Date.parse(info.ended) : state === 'interrupted' || state === 'crashed' ? mtimeMs : undefined;
  return {
    dir,
    info,
    state,
    resumable: state !== 'running' && state !== 'finished' && hasCheckpoint,
    group: info.config_stem || path.basename(path.dirname(dir)),
    startedMs: Number.isFinite(startedMs) ? startedMs : mtimeMs,
    endedMs: endedMs !== undefined && Number.isFinite(endedMs) ? endedMs : undefined,
    mtimeMs,
    ...(slurm ? { slurm } : {}),
    ...(elsewhere ? { elsewhere } : {}),
  };
}

/**
 * Is the process that wrote run.json alive? A record without a hostname (the writer always sets
 * it: the record was made or edited by hand) is from an unknown machine, so that no process of
 * this one is taken for its writer, nor signalled by Stop; with `pid_started` the process must
 * have started then, so that a copied run's pid names no live process here.
 */
export function writerLiveness(info: RunInfo, startedBy?: number): Liveness {
  if (!info.hostname) return 'unknown';
  return processLiveness(info.pid, { hostname: info.hostname, startedBy, started: info.pid_started });
}

/** This machine can stop the run: its process runs here, or it is a Slurm job (pending or running). */
export function canStopRun(run: RunRecord): boolean {
  return (run.state === 'running' && !run.elsewhere) || run.state === 'pending';
}

/** The run's lock is held by a process alive on this host (a stale lock of a dead one is not). */
function lockHeldByLiveProcess(dir: string): boolean {
  const holder = readRunLock(dir);
  return !!holder && processLiveness(holder.pid, { hostname: holder.hostname, startedBy: Date.parse(holder.started) }) === 'alive';
}
