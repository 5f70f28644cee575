import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { tinyVitFashionMnistYaml } from '../helpers/tinyConfig';
import { buildBinding } from '../../src/distributed/binding';
import { readRunRecord, type RunRecord } from '../../src/rundir';
import { SlurmQueuePoller } from '../../src/extension/slurm/queue';
import type { RunsService } from '../../src/extension/runs';
import { RunManager } from '../../src/runs/manager';
import { waitFor } from '../helpers/wait';

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

const jobGone = (id: string) => execFileSync('squeue', ['-h', '-j', id, '-o', '%T'], { env: env(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === '';

beforeAll(() => {
  if (skip) return;
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  buildBinding();
  slurmConf = execFileSync('bash', [path.join(root, 'scripts', 'slurm-local.sh'), 'start', cluster], { encoding: 'utf8' }).trim();
  // The editor's side (queue poller, Stop) runs squeue and scancel in this process.
  process.env.SLURM_CONF = slurmConf;
}, 120_000);

const savedConf = process.env.SLURM_CONF;
afterAll(() => {
  if (savedConf === undefined) delete process.env.SLURM_CONF;
  else process.env.SLURM_CONF = savedConf;
  if (!skip) spawnSync('bash', [path.join(root, 'scripts', 'slurm-local.sh'), 'stop', cluster]);
  t.cleanup();
});

describe('cvw submit refuses before writing anything', () => {
  it('a value with a line break (it would end the #SBATCH lines and run as a command), a config with an error', () => {
    const dir = path.join(t.dir, 'refused');
    const r = cli('submit', 'short.yaml', '--time', '1:00\necho INJECTED', '--work-dir', dir, '--dry-run');
    expect(r).toMatchObject({ code: 1, err: 'cvw submit: --time "1:00\\necho INJECTED": a line break or control character cannot go into the job script\n' });
    const bad = cli('submit', 'short.yaml', '--optimizer.lr', '-1', '--work-dir', dir, '--dry-run');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('optimizer.lr: expected number > 0, got -1');
    expect(fs.existsSync(dir)).toBe(false);
  });
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
    // The ranks start with glibc's malloc tunables: none relaunches itself under scancel's signals.
    expect(script).toContain('export GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432:glibc.malloc.top_pad=67108864}"\n');
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
    await waitFor(() => jobGone(jobId), 'the job to end', 90_000, 200);
    const info = runJson(dir);
    expect(info.status, fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toBe('finished');
    expect(info.slurm_job_id).toBe(jobId);
    expect(info.world_size).toBe(2);
    expect(info.hosts).toHaveLength(2);
    expect(info.iter).toBe(4);
    expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toMatch(/effective batch 64/);
    expect(fs.existsSync(path.join(dir, 'log.rank1.txt'))).toBe(true);
  }, 120_000);

  it('a job Slurm takes but cannot release (more ranks than the node has) is cancelled, not left in the queue under a failed run; a partition sbatch refuses is named', async () => {
    const dir = path.join(t.dir, 'too-many');
    const r = cli('submit', 'short.yaml', '--ntasks-per-node', '64', '--work-dir', dir);
    expect(r.code).toBe(1);
    const jobId = runJson(dir).slurm_job_id as string;
    expect(r.err).toBe(`cvw submit: ${runJson(dir).error.message}\n`);
    expect(r.err).toMatch(new RegExp(`^cvw submit: scontrol release ${jobId} failed: .+ \\(job ${jobId} cancelled\\)\\n$`, 's'));
    expect(runJson(dir).status).toBe('failed');
    await waitFor(() => jobGone(jobId), 'the job to leave the queue', 30_000, 200);

    const bad = cli('submit', 'short.yaml', '--partition', 'nope', '--work-dir', path.join(t.dir, 'bad-partition'));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('invalid partition specified: nope');
    expect(runJson(path.join(t.dir, 'bad-partition'))).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('Invalid partition name specified') } });
  }, 60_000);

  it('a config, run directory and working folder named with spaces, quotes, #, %, $() and backticks: the job runs them as they are, nothing executes', async () => {
    // sbatch's own directive parser splits at spaces and cuts at an unquoted #.
    const odd = `my cfg 'q' "dq" #1 %x $(touch PWNED) \`touch PWNED2\``;
    fs.mkdirSync(path.join(t.dir, odd));
    fs.writeFileSync(path.join(t.dir, odd, `${odd}.yaml`), fs.readFileSync(path.join(t.dir, 'short.yaml')));
    const dir = path.join(t.dir, odd, 'run #2 %j');
    const r = spawnSync(process.execPath, [cvwBin, 'submit', `${odd}.yaml`, '--ntasks-per-node', '2', '--work-dir', dir, '--max-iters', '1', '--json'], {
      cwd: path.join(t.dir, odd),
      encoding: 'utf8',
      env: env(),
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const { jobId } = JSON.parse(r.stdout);
    expect(execFileSync('scontrol', ['show', 'job', jobId], { env: env(), encoding: 'utf8' })).toContain(`JobName=cvw-${odd}\n`);
    await waitFor(() => jobGone(jobId), 'the job to end', 90_000, 200);
    expect(runJson(dir)).toMatchObject({ status: 'finished', iter: 1, config: path.join(t.dir, odd, `${odd}.yaml`) });
    expect(fs.existsSync(path.join(dir, `slurm-${jobId}.out`))).toBe(true);
    expect(fs.readdirSync(path.join(t.dir, odd)).filter((f) => f.startsWith('PWNED'))).toEqual([]);
    expect(fs.readdirSync(t.dir).filter((f) => f.startsWith('PWNED'))).toEqual([]);
  }, 120_000);

  it('Stop (scancel) ends the job with a last checkpoint (stopped, resumable), --resume finishes it; jobs queued behind it are pending in the editor, then failed when cancelled outside it, stopped when stopped from it', async () => {
    const dir = path.join(t.dir, 'cancelled');
    const r = cli('submit', 'long.yaml', '--nodes', '1', '--ntasks-per-node', '2', '--work-dir', dir, '--json');
    expect(r.code, r.err).toBe(0);
    const { jobId } = JSON.parse(r.out);
    await waitFor(() => runJson(dir).iter >= 2, 'the first steps', 90_000, 200);

    // The editor's view of jobs queued behind this one (both CPUs taken): pending with Slurm's
    // reason; one cancelled outside the editor before it started is failed (its run.json still
    // says pending), one stopped from the editor (RunManager.stop: scancel) is stopped.
    const submitQueued = (name: string) => {
      const q = cli('submit', 'short.yaml', '--nodes', '1', '--ntasks-per-node', '2', '--work-dir', path.join(t.dir, name), '--json');
      expect(q.code, q.err).toBe(0);
      return { dir: path.join(t.dir, name), job: JSON.parse(q.out).jobId as string };
    };
    const [cancelled, stoppedHere] = [submitQueued('queued-cancelled'), submitQueued('queued-stopped')];
    const records = new Map<string, RunRecord>([cancelled, stoppedHere].map((q) => [q.dir, readRunRecord(q.dir)!]));
    const service = { runs: () => [...records.values()], refresh: (d: string) => records.set(d, readRunRecord(d)!).get(d) } as unknown as RunsService;
    const logged: string[] = [];
    const poller = new SlurmQueuePoller(service, { appendLine: (l: string) => logged.push(l) } as never, 3_600_000);
    const manager = new RunManager(() => {
      throw new Error('nothing is started here');
    });
    try {
      await poller.poll();
      expect(logged).toEqual([]);
      for (const q of [cancelled, stoppedHere]) {
        expect(records.get(q.dir)).toMatchObject({ state: 'pending', slurm: { job: { id: q.job, state: 'PENDING' }, note: expect.stringMatching(new RegExp(`^Slurm job ${q.job} waits \\(\\w+\\)$`)) } });
      }
      expect(await manager.stop(stoppedHere.dir, { graceMs: 30_000 })).toBe('stopped');
      expect(runJson(stoppedHere.dir).status).toBe('stopped');
      execFileSync('scancel', [cancelled.job], { env: env() });
      await waitFor(() => jobGone(cancelled.job) && jobGone(stoppedHere.job), 'the cancelled jobs to leave the queue', 30_000, 200);
      expect(runJson(cancelled.dir).status).toBe('pending');
      await waitFor(() => Date.now() > fs.statSync(path.join(cancelled.dir, 'run.json')).mtimeMs + 3500, 'run.json to settle', 10_000, 200);
      await poller.poll();
      expect(records.get(cancelled.dir)).toMatchObject({ state: 'failed', slurm: { note: `Slurm job ${cancelled.job} ended before the run started (its output: slurm-${cancelled.job}.out in the run directory)` } });
      expect(records.get(stoppedHere.dir)!.state).toBe('stopped');

      // Stop on the running job (the editor's Stop): scancel, every rank writes a last checkpoint.
      expect(await manager.stop(dir, { graceMs: 60_000 })).toBe('stopped');
    } finally {
      poller.dispose();
      manager.dispose();
    }
    await waitFor(() => jobGone(jobId), 'the job to end', 60_000, 200);
    const info = runJson(dir);
    expect(info.status).toBe('stopped');
    expect(info.error).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'checkpoints', 'latest.safetensors'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toMatch(/stopped \(SIGTERM\) at epoch \d+, iteration \d+/);

    const stoppedAt = info.iter as number;
    const resumed = cli('train', '--resume', dir, '--nproc', '2', '--max-iters', String(stoppedAt + 2), '-q');
    expect(resumed.code, resumed.err).toBe(0);
    const after = runJson(dir);
    expect(after.status).toBe('finished');
    expect(after.iter).toBe(stoppedAt + 2);
  }, 180_000);
});
