/**
 * Reads `squeue` every few seconds while runs submitted to Slurm are pending or running, installs
 * the snapshot for the run readers (src/rundir/slurmQueue.ts) and re-reads those runs, so that the
 * Runs view shows a job that ended before it started, or whose ranks were killed elsewhere.
 */
import { execFile } from 'node:child_process';
import type * as vscode from 'vscode';
import { parseSqueue, setSlurmQueue, SQUEUE_FORMAT } from '../../rundir/slurmQueue';
import type { RunRecord } from '../../rundir';
import type { RunsService } from '../runs';

/** A run whose job may still be in the queue. */
function followed(r: RunRecord): boolean {
  return typeof r.info.slurm_job_id === 'string' && (r.state === 'pending' || r.state === 'running');
}

function squeue(): Promise<string> {
  return new Promise((resolve, reject) =>
    // --me: the jobs of this user (`-j id,...` fails outright once one id has left the queue).
    execFile('squeue', ['-h', '--me', '-o', SQUEUE_FORMAT], { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`.trim())) : resolve(stdout))),
  );
}

export class SlurmQueuePoller implements vscode.Disposable {
  private readonly timer: NodeJS.Timeout;
  private polling: Promise<void> | undefined;
  private warned = false;

  constructor(
    private readonly service: RunsService,
    private readonly output: vscode.OutputChannel,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  /** Read the queue now (when some run follows a job); resolves once the runs are re-read. */
  poll(): Promise<void> {
    this.polling ??= this.read().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async read(): Promise<void> {
    const runs = this.service.runs().filter(followed);
    if (!runs.length) return;
    const takenMs = Date.now();
    try {
      setSlurmQueue({ jobs: parseSqueue(await squeue()), takenMs });
      this.warned = false;
    } catch (e) {
      if (!this.warned) this.output.appendLine(`slurm: cannot read the queue (squeue): ${(e as Error).message}`);
      this.warned = true;
      return;
    }
    for (const r of runs) this.service.refresh(r.dir);
  }

  dispose(): void {
    clearInterval(this.timer);
    setSlurmQueue(undefined);
  }
}
