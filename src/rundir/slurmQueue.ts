/**
 * What Slurm says about the jobs of runs submitted with `cvw submit` (run.json's `slurm_job_id`),
 * for readers of run directories. `cvw submit` records the run as `pending` at once; the job's
 * ranks write it like any other run once the job starts. Two things run.json cannot say by itself:
 *
 * - a job that ended before any rank started (cancelled while pending, refused by the node): the
 *   run would stay `pending` for ever; it is `failed` once the queue no longer has the job;
 * - a job whose ranks were killed on another host (time limit, node failure, `scancel --signal
 *   KILL`): no pid on this machine to check, so a `running` run whose job has left the queue is
 *   `interrupted` (it has a checkpoint) or `crashed`.
 *
 * The editor reads `squeue` every few seconds while such runs are pending or running
 * (src/extension/slurm) and installs the snapshot here; interpretRun (runRecord.ts) applies it.
 * Without a snapshot (the CLI, no Slurm) nothing changes.
 */
import type { RunState } from './status';

export interface SlurmJob {
  id: string;
  /** PENDING, CONFIGURING, RUNNING, COMPLETING, SUSPENDED, ... */
  state: string;
  /** Why it waits (Priority, Resources, JobHeldUser, ...), or "None". */
  reason: string;
  /** Its nodes once it runs. */
  nodes: string;
}

export interface SlurmQueueSnapshot {
  jobs: Map<string, SlurmJob>;
  /** When squeue answered (ms since the epoch). */
  takenMs: number;
}

/** A Slurm job id (`123`, or `123_4` for an array task), as squeue prints it and run.json records it. */
export const SLURM_JOB_ID = /^\d+(_\d+)?$/;

/** The `squeue -o` format parseSqueue reads (with `-h`: no header). */
export const SQUEUE_FORMAT = '%i|%T|%r|%N';

/** The jobs in `squeue -h -o SQUEUE_FORMAT` output; lines of another shape are skipped. */
export function parseSqueue(text: string): Map<string, SlurmJob> {
  const jobs = new Map<string, SlurmJob>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split('|');
    if (fields.length < 2 || !SLURM_JOB_ID.test(fields[0]) || !/^[A-Z_]+$/.test(fields[1])) continue;
    jobs.set(fields[0], { id: fields[0], state: fields[1], reason: fields[2] ?? '', nodes: fields[3] ?? '' });
  }
  return jobs;
}

/**
 * Slack for a job that leaves the queue just as its ranks write run.json: a snapshot taken less
 * than this after the last write of run.json does not decide that the job is gone.
 */
const SETTLE_MS = 3000;

export interface SlurmRunView {
  state: RunState;
  /** The job as squeue last showed it (absent once it has left the queue). */
  job?: SlurmJob;
  /** Why the state differs from run.json's, for tooltips and logs. */
  note?: string;
}

/**
 * A Slurm run's state: `state` as run.json and the process checks give it, corrected by the queue.
 * `mtimeMs` is run.json's last write.
 */
export function slurmRunState(jobId: string, state: RunState, hasCheckpoint: boolean, mtimeMs: number, queue: SlurmQueueSnapshot | undefined): SlurmRunView {
  const job = queue?.jobs.get(jobId);
  if (!queue || job) {
    if (job && state === 'pending') return { state, job, note: job.state === 'PENDING' ? `Slurm job ${jobId} waits (${job.reason})` : `Slurm job ${jobId} ${job.state.toLowerCase()} on ${job.nodes || '?'}` };
    return { state, job };
  }
  if (queue.takenMs < mtimeMs + SETTLE_MS) return { state };
  if (state === 'pending') return { state: 'failed', note: `Slurm job ${jobId} ended before the run started (its output: slurm-${jobId}.out in the run directory)` };
  if (state === 'running') return { state: hasCheckpoint ? 'interrupted' : 'crashed', note: `Slurm job ${jobId} ended without the run recording an end (time limit, node failure or a kill)` };
  return { state };
}

let current: SlurmQueueSnapshot | undefined;

/** Install what squeue said last (undefined: forget it). */
export function setSlurmQueue(snapshot: SlurmQueueSnapshot | undefined): void {
  current = snapshot;
}

export function slurmQueue(): SlurmQueueSnapshot | undefined {
  return current;
}
