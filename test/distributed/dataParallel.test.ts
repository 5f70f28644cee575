import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { tinyVitFashionMnistYaml } from '../helpers/tinyConfig';
import { loadCheckpoint, disposeCheckpoint } from '../../src/train/checkpoint';
import { buildBinding, mpiAvailability } from '../../src/distributed/binding';
import { useCpu } from '../helpers/tf';
import { findRank } from '../helpers/mpiRanks';

// Data-parallel training on real Open MPI ranks (`cvw train --nproc 2` starts mpirun), on a
// transformer without batch norm: 2 ranks x batch 32 must end where 1 process x batch 64 does.
const root = path.resolve(__dirname, '../..');
const cvwBin = path.join(root, 'bin', 'cvw.js');
const sample = path.join(root, 'data', 'fashion-mnist-sample');
const config = (batch: number, runner: string) => tinyVitFashionMnistYaml({ seed: 3, batch, runner, optimizer: 'lr: 0.05, momentum: 0.9' });
// SyncBatchNorm: a narrow ResNet-18 (batch norm everywhere) on 12x12 images, on the wasm engine
// (its batch norm sums per sample, as SyncBatchNorm does). (The plain cpu backend agrees to 4e-8
// too, but takes four times as long.)
const bnConfig = (batch: number) =>
  config(batch, 'max_iters: 2, log_interval: 1, sync_bn: true')
    .replace(/backbone: \{ type: VisionTransformer[^\n]*\}/, 'backbone: { type: ResNet, depth: 18, stem: cifar, base_width: 4 }')
    .replace('pipeline: [{ type: ToTensor }]', 'pipeline: [{ type: Resize, size: 12 }, { type: ToTensor }]');
const t = tempFiles({ 'bn64.yaml': bnConfig(64), 'bn32.yaml': bnConfig(32), 'b64.yaml': config(64, 'max_iters: 6, log_interval: 2'), 'b32.yaml': config(32, 'max_iters: 6, log_interval: 2'), 'long.yaml': config(256, 'max_epochs: 8, log_interval: 1') });
afterAll(() => t.cleanup());

const mpi = mpiAvailability();
const skip = !mpi.mpiInstalled;
if (skip) console.log(`skipping the data-parallel tests: ${mpi.note}`);

/** `cvw args...` in a child process; asynchronous, so that the test worker keeps answering vitest while ranks train. */
function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cvwBin, ...args], { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const runJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));

function weights(dir: string): Map<string, Float32Array> {
  const ckpt = loadCheckpoint(path.join(dir, 'checkpoints', 'latest.safetensors'));
  const out = new Map<string, Float32Array>();
  for (const [k, v] of ckpt.tensors) if (k.startsWith('model.')) out.set(k, v.dataSync().slice() as Float32Array);
  disposeCheckpoint(ckpt);
  return out;
}

beforeAll(async () => {
  await useCpu();
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  if (!skip) buildBinding();
}, 120_000);

function expectSameWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  let moved = 0;
  for (const [k, va] of a) {
    const vb = b.get(k)!;
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < va.length; i++) {
      diff = Math.max(diff, Math.abs(va[i] - vb[i]));
      norm = Math.max(norm, Math.abs(va[i]));
    }
    expect(diff / Math.max(norm, 1e-6), k).toBeLessThan(1e-5);
    if (norm > 0) moved++;
  }
  return moved;
}

describe.skipIf(skip)('data-parallel training under mpirun', () => {
  const one = path.join(t.dir, 'one');
  const two = path.join(t.dir, 'two');

  it('2 ranks x batch 32 end with the weights of 1 process x batch 64', async () => {
    const r1 = await cli('train', 'b64.yaml', '--work-dir', one, '-q');
    expect(r1.err).toBe('');
    expect(r1.code).toBe(0);
    const r2 = await cli('train', 'b32.yaml', '--work-dir', two, '--nproc', '2');
    expect(r2.code, r2.err).toBe(0);
    expect(r2.out.trim()).toBe(two); // rank 1 prints nothing of its own

    const info = runJson(two);
    expect(info.status).toBe('finished');
    expect(info.world_size).toBe(2);
    expect(info.hosts).toHaveLength(2);
    expect(info.iter).toBe(6);
    const log = fs.readFileSync(path.join(two, 'log.txt'), 'utf8');
    expect(log).toMatch(/data-parallel on 2 ranks \(.+\): batch 32 per rank, effective batch 64/);
    expect(log).toMatch(/parameters identical on all 2 ranks/);
    expect(fs.readFileSync(path.join(two, 'log.rank1.txt'), 'utf8')).toMatch(/finished/);
    expect(fs.readdirSync(two).filter((f) => f.startsWith('log.rank'))).toEqual(['log.rank1.txt']);

    const moved = expectSameWeights(weights(one), weights(two));
    expect(moved).toBeGreaterThan(5);
    // The metrics are the mean over ranks: the same losses as the single process.
    const losses = (dir: string) =>
      fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.loss !== undefined).map((m) => m.loss as number);
    const [la, lb] = [losses(one), losses(two)];
    expect(lb.length).toBe(la.length);
    lb.forEach((l, i) => expect(l).toBeCloseTo(la[i], 4));
  }, 120_000);

  it('stopped mid-epoch on 2 ranks, resumed on 2 ranks or on 1 process with twice the batch: the weights of the uninterrupted runs', async () => {
    const half = path.join(t.dir, 'half');
    const r = await cli('train', 'b32.yaml', '--work-dir', half, '--nproc', '2', '--max-iters', '3', '-q');
    expect(r.code, r.err).toBe(0);
    const copy = path.join(t.dir, 'half-copy');
    fs.cpSync(half, copy, { recursive: true });
    const other = path.join(t.dir, 'half-other');
    fs.cpSync(half, other, { recursive: true });

    const same = await cli('train', '--resume', half, '--nproc', '2', '--max-iters', '6', '-q');
    expect(same.code, same.err).toBe(0);
    expect(runJson(half).iter).toBe(6);
    expectSameWeights(weights(two), weights(half));

    const single = await cli('train', '--resume', copy, '--max-iters', '6', '--data.train.batch_size', '64');
    expect(single.code, single.err).toBe(0);
    expectSameWeights(weights(one), weights(copy));

    // Another world size with the same per-rank batch: the position in the epoch is kept in samples.
    const batch32 = await cli('train', '--resume', other, '--max-iters', '4');
    expect(batch32.code, batch32.err).toBe(0);
    expect(batch32.err).toMatch(/written by 2 rank\(s\) at sample 192 of the epoch; continuing at batch 6 of 32 x 1 rank/);
  }, 120_000);

  it('SyncBatchNorm: 2 ranks x batch 32 end with the weights and batch-norm statistics of 1 process x batch 64', async () => {
    const a = path.join(t.dir, 'bn-one');
    const b = path.join(t.dir, 'bn-two');
    const r1 = await cli('train', 'bn64.yaml', '--work-dir', a, '-q');
    expect(r1.code, r1.err).toBe(0);
    const r2 = await cli('train', 'bn32.yaml', '--work-dir', b, '--nproc', '2', '-q');
    expect(r2.code, r2.err).toBe(0);
    expect(fs.readFileSync(path.join(b, 'log.txt'), 'utf8')).toMatch(/buffers identical on all 2 ranks/);
    // Relative to the norm of all parameters (buffers separately): biases of batch norm that
    // another batch norm follows are ~1e-3 and get float32 noise of ~1e-6 from the gradients'
    // other order of sums. (Measured: 3e-8 for both; 1.3e-3 on wasm before the per-sample sums.)
    const [wa, wb] = [weights(a), weights(b)];
    for (const buffers of [false, true]) {
      let diff = 0;
      let norm = 0;
      for (const [k, va] of wa) {
        if (/running_|num_batches/.test(k) !== buffers) continue;
        const vb = wb.get(k)!;
        for (let i = 0; i < va.length; i++) {
          diff += (va[i] - vb[i]) ** 2;
          norm += va[i] ** 2;
        }
      }
      expect(Math.sqrt(diff / norm), buffers ? 'buffers' : 'parameters').toBeLessThan(1e-5);
    }
  }, 120_000);

  it('MoCo v2 on 2 ranks: the key encoder (momentum copy) stays identical on every rank', async () => {
    const dir = path.join(t.dir, 'moco');
    const o = (k: string, v: string) => [`--${k}`, v];
    const r = await cli(
      'train', path.join(root, 'configs/selfsup/mocov2/mocov2_resnet18_fashion_mnist_sample.yaml'), '--work-dir', dir, '--nproc', '2', '--max-iters', '3',
      ...o('engine.backend', 'wasm'), ...o('data.workers', '0'), ...o('data.train.source.root', sample), ...o('data.val.source.root', sample),
      ...o('model.backbone.base_width', '4'), ...o('model.neck.hid_channels', '16'), ...o('model.neck.out_channels', '8'), ...o('data.train.batch_size', '16'), ...o('eval_pipelines', '[]'),
    );
    expect(r.code, r.err).toBe(0);
    const log = fs.readFileSync(path.join(dir, 'log.txt'), 'utf8');
    expect(log).toMatch(/parameters identical on all 2 ranks/);
    // Batch norm is per rank by default (runner.sync_bn off): its statistics differ, and the log says so.
    expect(log).toMatch(/buffers \(batch-norm statistics, queues\) of rank 1 \(.+\) differ from rank 0's/);
  }, 120_000);

  it('`--` before the config: the run directory chosen for the ranks goes before it, not after it as a second config', async () => {
    const r = await cli('train', '-q', '--max-iters', '1', '--nproc', '2', '--', 'b32.yaml');
    expect(r.code, r.err).toBe(0);
    const dir = r.out.trim();
    expect(path.dirname(dir)).toBe(path.join(t.dir, 'work_dirs', 'b32'));
    expect(runJson(dir)).toMatchObject({ status: 'finished', iter: 1, world_size: 2 });
  }, 60_000);

  it('a config error with --nproc is reported once, before mpirun starts, and leaves no empty run directory', async () => {
    const r = await cli('train', 'b32.yaml', '--nproc', '2', '--optimizer.lr', '-1');
    expect(r.code).toBe(1);
    expect(r.err).toBe('<command line>: error: --optimizer.lr -1: optimizer.lr: expected number > 0, got -1\ncvw train: 1 problem in the config\n');
    const runs = path.join(t.dir, 'work_dirs', 'b32');
    for (const d of fs.existsSync(runs) ? fs.readdirSync(runs) : []) expect(fs.readdirSync(path.join(runs, d)), d).toContain('run.json');
  }, 60_000);

  it('a non-finite loss ends every rank at the same iteration, naming the ranks it came from', async () => {
    const dir = path.join(t.dir, 'nan');
    const r = await cli('train', 'b32.yaml', '--work-dir', dir, '--nproc', '2', '--optimizer.lr', '1e30', '-q');
    expect(r.code).not.toBe(0);
    const info = runJson(dir);
    expect(info.status).toBe('failed');
    expect(info.error.message).toMatch(/^the loss became (NaN|-?Infinity) on rank \d \(.+\)(, rank \d \(.+\))? at iteration \d+ \(epoch 1\)/);
  }, 60_000);

  it('Ctrl+C on cvw train --nproc: every rank stops after the same step with a last checkpoint (stopped)', async () => {
    const dir = path.join(t.dir, 'interrupted');
    const child = spawn(process.execPath, [cvwBin, 'train', 'long.yaml', '--work-dir', dir, '--nproc', '2', '-q'], { cwd: t.dir, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    const deadline = Date.now() + 60_000;
    while (!(fs.existsSync(path.join(dir, 'run.json')) && runJson(dir).iter >= 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const info = runJson(dir);
    expect(info.status).toBe('stopped');
    expect(info.iter).toBeLessThan(24);
    expect(fs.existsSync(path.join(dir, 'checkpoints', 'latest.safetensors'))).toBe(true);
    const log = fs.readFileSync(path.join(dir, 'log.txt'), 'utf8');
    expect(log).toMatch(new RegExp(`stopped \\(SIGUSR1\\) at epoch \\d+, iteration ${info.iter}`));
    expect(log).toMatch(/parameters identical on all 2 ranks/);
  }, 90_000);

  it('cvw train --nproc itself killed (SIGKILL: no signal passed on): mpirun and every rank end within seconds, none trains on orphaned', async () => {
    const dir = path.join(t.dir, 'launcher-killed');
    // Long enough that ranks left running are still there when looked for.
    fs.writeFileSync(path.join(t.dir, 'endless.yaml'), config(32, 'max_epochs: 1000, log_interval: 1'));
    const child = spawn(process.execPath, [cvwBin, 'train', 'endless.yaml', '--work-dir', dir, '--nproc', '2', '-q'], { cwd: t.dir, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    const deadline = Date.now() + 60_000;
    while (!(fs.existsSync(path.join(dir, 'run.json')) && runJson(dir).iter >= 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect([findRank(0, dir), findRank(1, dir)].every((p) => p !== undefined)).toBe(true);
    child.kill('SIGKILL');
    await exited;
    const gone = Date.now() + 10_000;
    while ((findRank(0, dir) ?? findRank(1, dir)) !== undefined && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
    const left = [findRank(0, dir), findRank(1, dir)];
    for (const pid of left) if (pid) process.kill(pid, 'SIGKILL');
    expect(left).toEqual([undefined, undefined]);
  }, 90_000);

  it('a rank killed mid-run ends the job within seconds, naming the rank; --resume finishes the run', async () => {
    const dir = path.join(t.dir, 'killed');
    const child = spawn(process.execPath, [cvwBin, 'train', 'long.yaml', '--work-dir', dir, '--nproc', '2', '-q'], { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    // Wait for the first epoch's checkpoint, then kill rank 1 (found by its MPI rank variable).
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(path.join(dir, 'checkpoints', 'latest.safetensors')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(path.join(dir, 'checkpoints', 'latest.safetensors'))).toBe(true);
    const rank1 = findRank(1, dir);
    expect(rank1, 'rank 1 process').toBeDefined();
    process.kill(rank1!, 'SIGKILL');
    const killedAt = Date.now();
    const code = await exited;
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(code).not.toBe(0);
    expect(err).toMatch(/rank 1 \(.+\) died \(signal 9/);
    const info = runJson(dir);
    expect(info.status).toBe('failed');
    expect(info.error.message).toMatch(/rank 1 \(.+\) died \(signal 9, Killed\); the job ended at iteration \d+\. Continue with `cvw train --resume/);
    expect(info.iter).toBeLessThan(24);

    const r = await cli('train', '--resume', dir, '--nproc', '2', '-q');
    expect(r.code, r.err).toBe(0);
    const after = runJson(dir);
    expect(after.status).toBe('finished');
    expect(after.iter).toBe(24);
    expect(after.error).toBeUndefined();
  }, 180_000);
});
