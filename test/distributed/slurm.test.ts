import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { tinyVitFashionMnistYaml } from '../helpers/tinyConfig';
import { buildBinding } from '../../src/distributed/binding';
import { readRunRecord, type RunRecord } from '../../src/runs/runRecord';
import { SlurmQueuePoller } from '../../src/extension/slurm/queue';
import type { RunsService } from '../../src/extension/runs';

// `cvw submit` against a real one-node Slurm cluster (munged, slurmctld, slurmd started here by
// scripts/slurm-local.sh): the run is pending with its job id at once, runs on 2 ranks to
// `finished`; `scancel` leaves another run `stopped` with a checkpoint, and --resume finishes it.
const root = path.resolve(__dirname, '../..');
const cvwBin = path.join(root, 'bin', 'cvw.js');
const config = (runner: string) => tinyVitFashionMnistYaml({ seed: 5, batch: 32, runner, optimizer: 'lr: 0.05' });
const t = tempFiles({ 'short.yaml': config('max_iters: 4, log_interval: 1'), 'long.yaml': config('max_epochs: 20, log_interval: 1') });
const cluster = path.join(t.dir, 'slurm');
let slurmConf = '';

const missing = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'mpirun'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
const skip = missing.length > 0 || process.getuid?.() !== 0;
if (skip) console.log(`skipping the Slurm tests: ${missing.length ? `${missing.join(', ')} not installed (apt-get install slurm-wlm munge openmpi-bin libopenmpi-dev)` : 'the one-node cluster needs root'}`);

const env = () => ({ ...process.env, SLURM_CONF: slurmConf });
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [cvwBin, ...args], { cwd: t.dir, encoding: 'utf8', env: env(), timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const runJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));

async function until(what: string, test: () => boolean, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const jobGone = (id: string) => execFileSync('squeue', ['-h', '-j', id, '-o', '%T'], { env: env(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === '';

beforeAll(() => {
  if (skip) return;
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  buildBinding();
  slurmConf = execFileSync('bash', [path.join(root, 'scripts', 'slurm-local.sh'), 'start', cluster], { encoding: 'utf8' }).trim();
}, 120_000);

afterAll(() => {
  if (!skip) spawnSync('bash', [path.join(root, 'scripts', 'slurm-local.sh'), 'stop', cluster]);
  t.cleanup();
});

describe.skipIf(skip)('cvw submit on a one-node Slurm cluster', () => {
  it('--dry-run writes the sbatch script into the run directory and submits nothing', () => {
    const dir = path.join(t.dir, 'dry');
    const r = cli('submit', 'short.yaml', '--nodes', '1', '--ntasks-per-node', '2', '--partition', 'debug', '--time', '5:00', '--work-dir', dir, '--dry-run');
    expect(r.code, r.err).toBe(0);
    const script = fs.readFileSync(path.join(dir, 'submit.sbatch'), 'utf8');
    expect(r.out).toBe(script);
    for (const d of ['--nodes=1', '--ntasks-per-node=2', '--partition=debug', '--time=5:00']) expect(script).toContain(`#SBATCH ${d}\n`);
    expect(script).toMatch(/srun --mpi=pmix .* train .*short\.yaml --work-dir "\$run"/);
    expect(fs.existsSync(path.join(dir, 'run.json'))).toBe(false);
  });

  it('--nodes 1 --ntasks-per-node 2: pending with the job id at once, then finished on 2 ranks', async () => {
    const dir = path.join(t.dir, 'job');
    const r = cli('submit', 'short.yaml', '--nodes', '1', '--ntasks-per-node', '2', '--work-dir', dir, '--json');
    expect(r.code, r.err).toBe(0);
    const { jobId } = JSON.parse(r.out);
    expect(jobId).toMatch(/^\d+$/);
    const first = runJson(dir);
    expect(first.slurm_job_id).toBe(jobId);
    expect(['pending', 'running', 'finished']).toContain(first.status);
    await until('the job to end', () => jobGone(jobId));
    const info = runJson(dir);
    expect(info.status, fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toBe('finished');
    expect(info.slurm_job_id).toBe(jobId);
    expect(info.world_size).toBe(2);
    expect(info.hosts).toHaveLength(2);
    expect(info.iter).toBe(4);
    expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toMatch(/effective batch 64/);
    expect(fs.existsSync(path.join(dir, 'log.rank1.txt'))).toBe(true);
  }, 120_000);

  it('scancel stops the job with a last checkpoint (stopped, resumable); --resume finishes it; a job queued behind it shows pending in the editor, then failed once cancelled', async () => {
    const dir = path.join(t.dir, 'cancelled');
    const r = cli('submit', 'long.yaml', '--nodes', '1', '--ntasks-per-node', '2', '--work-dir', dir, '--json');
    expect(r.code, r.err).toBe(0);
    const { jobId } = JSON.parse(r.out);
    await until('the first steps', () => runJson(dir).iter >= 2);

    // The editor's view of a second job, queued behind this one (both CPUs taken), then cancelled
    // before it started: pending with Slurm's reason, then failed (its run.json still says pending).
    const queued = path.join(t.dir, 'queued');
    const q = cli('submit', 'short.yaml', '--nodes', '1', '--ntasks-per-node', '2', '--work-dir', queued, '--json');
    expect(q.code, q.err).toBe(0);
    const queuedJob = JSON.parse(q.out).jobId as string;
    const records = new Map<string, RunRecord>([[queued, readRunRecord(queued)!]]);
    const service = { runs: () => [...records.values()], refresh: (d: string) => records.set(d, readRunRecord(d)!).get(d) } as unknown as RunsService;
    const logged: string[] = [];
    const savedConf = process.env.SLURM_CONF;
    process.env.SLURM_CONF = slurmConf;
    const poller = new SlurmQueuePoller(service, { appendLine: (l: string) => logged.push(l) } as never, 3_600_000);
    try {
      await poller.poll();
      expect(logged).toEqual([]);
      expect(records.get(queued)).toMatchObject({ state: 'pending', slurm: { job: { id: queuedJob, state: 'PENDING' }, note: expect.stringMatching(new RegExp(`^Slurm job ${queuedJob} waits \\(\\w+\\)$`)) } });
      execFileSync('scancel', [queuedJob], { env: env() });
      await until('the queued job to leave the queue', () => jobGone(queuedJob), 30_000);
      expect(runJson(queued).status).toBe('pending');
      await until('run.json to settle', () => Date.now() > fs.statSync(path.join(queued, 'run.json')).mtimeMs + 3500, 10_000);
      await poller.poll();
      expect(records.get(queued)).toMatchObject({ state: 'failed', slurm: { note: `Slurm job ${queuedJob} ended before the run started (its output: slurm-${queuedJob}.out in the run directory)` } });
    } finally {
      poller.dispose();
      if (savedConf === undefined) delete process.env.SLURM_CONF;
      else process.env.SLURM_CONF = savedConf;
    }

    execFileSync('scancel', [jobId], { env: env() });
    await until('the job to end', () => jobGone(jobId), 60_000);
    const info = runJson(dir);
    expect(info.status).toBe('stopped');
    expect(info.error).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'checkpoints', 'latest.safetensors'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toMatch(/stopped \(SIGTERM\) at epoch 1, iteration \d+/);

    const stoppedAt = info.iter as number;
    const resumed = cli('train', '--resume', dir, '--nproc', '2', '--max-iters', String(stoppedAt + 2), '-q');
    expect(resumed.code, resumed.err).toBe(0);
    const after = runJson(dir);
    expect(after.status).toBe('finished');
    expect(after.iter).toBe(stoppedAt + 2);
  }, 180_000);
});
