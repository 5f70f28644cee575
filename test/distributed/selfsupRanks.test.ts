import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { loadCheckpoint, disposeCheckpoint } from '../../src/train/checkpoint';
import { buildBinding, mpiAvailability } from '../../src/distributed/binding';
import { useCpu } from '../helpers/tf';

// Issue 18 for the momentum methods: MoCo v2's queue takes the keys of every rank and DINO's
// centre the mean over every rank's teacher outputs (as the reference implementations'
// concat_all_gather and all_reduce), so 2 ranks x batch 32 end where 1 process x batch 64 does,
// queue and centre included. Before, each rank kept its own keys and its own centre.
const root = path.resolve(__dirname, '../..');
const cvwBin = path.join(root, 'bin', 'cvw.js');
const sample = path.join(root, 'data', 'fashion-mnist-sample');

const data = (batch: number, pipeline: string) => `
data:
  workers: 0
  train:
    type: MultiViewDataset
    batch_size: ${batch}
    source: { type: FashionMNIST, root: ${sample} }
    views: [{ num: 2, pipeline: [${pipeline}] }]
optimizer: { type: SGD, lr: 0.05, momentum: 0.9 }
seed: 3`;
// Batch norm everywhere in ResNet: SyncBatchNorm, on the plain cpu backend (as the data-parallel tests' SyncBatchNorm case).
const moco = (batch: number) => `
engine: { backend: cpu }
model:
  type: MoCoV2
  backbone: { type: ResNet, depth: 18, stem: cifar, base_width: 4 }
  neck: { type: NonLinearNeckV1, hid_channels: 16, out_channels: 8 }
  queue_len: 256
  momentum: { base: 0.9 }
runner: { max_iters: 2, log_interval: 1, sync_bn: true }
${data(batch, '{ type: Resize, size: 12 }, { type: ToTensor }')}`;
const dino = (batch: number) => `
engine: { backend: wasm, threads: 1 }
model:
  type: DINO
  backbone: { type: VisionTransformer, arch: custom, img_size: 28, patch_size: 7, embed_dim: 16, depth: 1, num_heads: 2, drop_path_rate: 0 }
  head: { type: DINOHead, hid_channels: 16, bottleneck_channels: 8, out_channels: 16 }
  freeze_last_layer_epochs: 0
  momentum: { base: 0.9 }
runner: { max_iters: 3, log_interval: 1 }
${data(batch, '{ type: ToTensor }')}`;

const t = tempFiles({ 'moco64.yaml': moco(64), 'moco32.yaml': moco(32), 'dino64.yaml': dino(64), 'dino32.yaml': dino(32) });
afterAll(() => t.cleanup());

const mpi = mpiAvailability();
const skip = !mpi.mpiInstalled;
if (skip) console.log(`skipping the data-parallel self-supervised tests: ${mpi.note}`);

/** `cvw` in a child process; awaited, not spawnSync: a run takes long enough to starve vitest's worker of its event loop. */
function cli(...args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cvwBin, ...args], { cwd: t.dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, err }));
  });
}

type State = Map<string, { data: Float32Array; shape: number[] }>;

function state(dir: string): State {
  const ckpt = loadCheckpoint(path.join(dir, 'checkpoints', 'latest.safetensors'));
  const out = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [k, v] of ckpt.tensors) if (k.startsWith('model.') && v.dtype === 'float32') out.set(k.slice('model.'.length), { data: v.dataSync().slice() as Float32Array, shape: v.shape });
  disposeCheckpoint(ckpt);
  return out;
}

/** L2 distance of the named tensors over their L2 norm. */
function relative(a: Map<string, { data: Float32Array }>, b: Map<string, { data: Float32Array }>, names: string[]): number {
  let diff = 0;
  let norm = 0;
  for (const n of names) {
    const [x, y] = [a.get(n)!.data, b.get(n)!.data];
    for (let i = 0; i < x.length; i++) {
      diff += (x[i] - y[i]) ** 2;
      norm += x[i] ** 2;
    }
  }
  return Math.sqrt(diff / norm);
}

/** The largest distance from a row of `a` to its nearest row of `b` (the same rows in another order: 0). */
function rowsApart(a: { data: Float32Array; shape: number[] }, b: { data: Float32Array; shape: number[] }): number {
  const [rows, d] = a.shape;
  let worst = 0;
  for (let i = 0; i < rows; i++) {
    let best = Infinity;
    for (let j = 0; j < rows; j++) {
      let m = 0;
      for (let c = 0; c < d; c++) m = Math.max(m, Math.abs(a.data[i * d + c] - b.data[j * d + c]));
      best = Math.min(best, m);
    }
    worst = Math.max(worst, best);
  }
  return worst;
}

async function runBoth(name: string): Promise<[State, State, string]> {
  const one = path.join(t.dir, `${name}-one`);
  const two = path.join(t.dir, `${name}-two`);
  const r1 = await cli('train', `${name}64.yaml`, '--work-dir', one, '-q');
  expect(r1.code, r1.err).toBe(0);
  const r2 = await cli('train', `${name}32.yaml`, '--work-dir', two, '--nproc', '2', '-q');
  expect(r2.code, r2.err).toBe(0);
  return [state(one), state(two), fs.readFileSync(path.join(two, 'log.txt'), 'utf8')];
}

beforeAll(async () => {
  await useCpu();
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  if (!skip) buildBinding();
}, 120_000);

describe.skipIf(skip)('momentum methods on 2 ranks x batch 32 end as 1 process x batch 64', () => {
  it('MoCo v2: the queue holds the keys of both ranks, so weights, key encoder and queue are those of one process', async () => {
    const [one, two, log] = await runBoth('moco');
    expect(log).toMatch(/buffers identical on all 2 ranks/);
    const queue = 'queue.queue';
    const rest = [...one.keys()].filter((n) => n !== queue);
    expect(rest.some((n) => n.startsWith('key_backbone.'))).toBe(true);
    expect(relative(one, two, rest)).toBeLessThan(1e-5);
    // 2 steps of 64 keys: rows 0-127 were written, each step's 64 in another order (rank 0's 32, then rank 1's).
    const [a, b] = [one.get(queue)!, two.get(queue)!];
    const written = 128 * 8;
    expect(rowsApart({ data: a.data.subarray(0, written), shape: [128, 8] }, { data: b.data.subarray(0, written), shape: [128, 8] })).toBeLessThan(1e-5);
    // The rows never written are the initial random keys, untouched.
    expect(relative(new Map([['q', { data: a.data.subarray(written) }]]), new Map([['q', { data: b.data.subarray(written) }]]), ['q'])).toBe(0);
  }, 180_000);

  it('DINO: the centre is the mean over both ranks\' teacher outputs, so weights, teacher and centre are those of one process', async () => {
    const [one, two, log] = await runBoth('dino');
    expect(log).toMatch(/buffers identical on all 2 ranks/);
    expect(relative(one, two, ['loss.center'])).toBeLessThan(1e-5);
    expect(one.get('loss.center')!.data.some((v) => v !== 0)).toBe(true);
    const names = [...one.keys()];
    expect(names.some((n) => n.startsWith('teacher_backbone.'))).toBe(true);
    expect(relative(one, two, names)).toBeLessThan(1e-5);
  }, 180_000);
});
