/**
 * Stop for a run submitted to Slurm (run.json's `slurm_job_id`): `scancel` the job, wherever its
 * ranks run. Slurm sends SIGTERM to every rank; they agree on a step to stop after, write a last
 * checkpoint and record `stopped` (resumable), as `cvw submit` documents. A job cancelled before it
 * started has no rank to write that: its run is recorded `stopped` here.
 */
import { execFile } from 'node:child_process';
import { readRunRecord, writeRunInfo, type RunRecord } from '../rundir';
import { SLURM_JOB_ID } from '../rundir/slurmQueue';

export type SlurmStopOutcome = 'stopped' | 'killed' | 'not-running';

function scancel(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile('scancel', args, { timeout: 10_000 }, (err, _out, stderr) => (err ? reject(new Error(`scancel ${args.join(' ')}: ${String(stderr).trim() || err.message}`)) : resolve())));
}

const ended = (r: RunRecord | undefined) => !r || (r.state !== 'pending' && r.state !== 'running');

export async function stopSlurmRun(record: RunRecord, graceMs: number): Promise<SlurmStopOutcome> {
  const jobId = record.info.slurm_job_id!;
  // run.json is workspace data: what goes to scancel must be a job id, never an option.
  if (!SLURM_JOB_ID.test(jobId)) throw new Error(`${record.dir}: run.json's slurm_job_id ${JSON.stringify(jobId)} is not a Slurm job id`);
  const wasPending = record.state === 'pending';
  await scancel([jobId]);
  const deadline = Date.now() + graceMs;
  for (;;) {
    const now = readRunRecord(record.dir);
    if (ended(now)) return 'stopped';
    if (wasPending && now?.info.status === 'pending') {
      // No rank ever started: nothing else will write the run.
      writeRunInfo(record.dir, { ...now.info, status: 'stopped', ended: new Date().toISOString() });
      return 'stopped';
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await scancel(['--signal=KILL', jobId]).catch(() => undefined);
  return 'killed';
}
