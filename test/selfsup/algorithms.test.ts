import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { ensureGradients } from '../../src/engine/gradients';
import { installKernels, WASM_TRAINING_KERNELS } from '../../src/engine/kernels';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { seedInit, seedStep } from '../../src/models/nn';
import { Random } from '../../src/core/random';
import { randomMasking } from '../../src/models/algorithms/selfsup/mae';
import type { Algorithm, TensorBatch } from '../../src/models/algorithms/types';
import type { OptimizerFactory } from '../../src/train/optimizers/optimizer';
import type { RunnerApi, IterOutput } from '../../src/train/hook';

// The wasm engine with its training kernels, as `engine.backend: wasm` runs (the cpu backend's
// convolution gradients are far slower).
beforeAll(async () => {
  ensureGradients();
  await tf.setBackend('wasm');
  installKernels(WASM_TRAINING_KERNELS);
});

const tinyResNet = { type: 'ResNet', depth: 18, stem: 'cifar', in_channels: 1, base_width: 4 };
const tinyViT = { type: 'VisionTransformer', arch: 'custom', embed_dim: 16, depth: 2, num_heads: 2, img_size: 8, patch_size: 2, in_channels: 1, drop_path_rate: 0.1 };
const tinySwin = { type: 'SwinTransformer', arch: 'custom', embed_dim: 8, depths: [2, 2], num_heads: [1, 2], patch_size: 2, in_channels: 1, window_size: 2, drop_path_rate: 0.1 };

/** Views of a fixed batch: the same images with fixed small perturbations per view. */
function views(sizes: number[], n = 8, seed = 1): tf.Tensor4D[] {
  const base = tf.randomUniform([n, 8, 8, 1], 0, 1, 'float32', seed);
  return sizes.map((s, v) => {
    const noisy = tf.add(base, tf.randomNormal([n, 8, 8, 1], 0, 0.1, 'float32', seed + 10 + v));
    return (s === 8 ? noisy : tf.image.resizeBilinear(noisy as tf.Tensor4D, [s, s])) as tf.Tensor4D;
  });
}

/** A few optimizer steps as the runner takes them (seeded step randomness, trainable variables only, hooks after each step). */
function trainSteps(model: Algorithm, batch: TensorBatch, optimizer: Record<string, unknown>, steps: number, afterStep?: (i: number) => void): number[] {
  const opt = build<OptimizerFactory>('optimizer', optimizer)(model.namedParameters());
  const hooks = model.hooks?.() ?? [];
  const losses: number[] = [];
  const runner = { maxIters: steps, itersPerEpoch: 2, epoch: 0, iter: 0, optimizer: opt } as unknown as RunnerApi & { iter: number; epoch: number };
  for (const h of hooks) h.beforeRun?.(runner);
  for (let i = 0; i < steps; i++) {
    runner.iter = i;
    runner.epoch = Math.floor(i / 2);
    for (const h of hooks) h.beforeIter?.(runner);
    seedStep(0, i);
    const progress = { iter: i, epoch: runner.epoch, maxIters: steps, itersPerEpoch: 2 };
    const { value, grads } = tf.variableGrads(() => model.trainStep(batch, progress).loss, model.trainableVariables());
    losses.push(value.dataSync()[0]);
    opt.step(grads, (optimizer.lr as number) ?? 0.01);
    tf.dispose([value, ...Object.values(grads)]);
    runner.iter = i + 1;
    const out: IterOutput = { loss: losses[i], logs: {}, samples: 8, lr: 0.01, seconds: 0, dataSeconds: 0 };
    for (const h of hooks) h.afterIter?.(runner, out);
    afterStep?.(i);
  }
  return losses;
}

function expectLearning(losses: number[]): void {
  for (const l of losses) expect(Number.isFinite(l)).toBe(true);
  const k = Math.max(1, Math.floor(losses.length / 3));
  const first = losses.slice(0, k).reduce((a, b) => a + b, 0) / k;
  const last = losses.slice(-k).reduce((a, b) => a + b, 0) / k;
  expect(last).toBeLessThan(first);
}

const cases: Array<{ name: string; model: Record<string, unknown>; sizes: number[]; optimizer: Record<string, unknown>; steps: number }> = [
  {
    name: 'SimCLR',
    model: { type: 'SimCLR', backbone: tinyResNet, neck: { type: 'NonLinearNeckSimCLR', hid_channels: 16, out_channels: 8 }, temperature: 0.5 },
    sizes: [8, 8],
    optimizer: { type: 'LARS', lr: 0.5, weight_decay: 1e-6 },
    steps: 8,
  },
  {
    name: 'MoCoV2',
    model: { type: 'MoCoV2', backbone: tinyResNet, neck: { type: 'NonLinearNeckV1', hid_channels: 16, out_channels: 8 }, queue_len: 1024 },
    sizes: [8, 8],
    optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 },
    steps: 8,
  },
  {
    name: 'BYOL',
    model: { type: 'BYOL', backbone: tinyResNet, neck: { type: 'NonLinearNeckV2', hid_channels: 16, out_channels: 8 }, head: { type: 'LatentPredictHead', predictor: { type: 'NonLinearNeckV2', hid_channels: 16 } }, momentum: { base: 0.9 } },
    sizes: [8, 8],
    optimizer: { type: 'LARS', lr: 0.3 },
    steps: 8,
  },
  {
    name: 'SwAV',
    model: { type: 'SwAV', backbone: tinyResNet, neck: { type: 'NonLinearNeckSwav', hid_channels: 16, out_channels: 8 }, head: { type: 'SwAVHead', num_prototypes: 6 }, num_crops: [2, 2], freeze_prototypes_epochs: 1 },
    sizes: [8, 8, 4, 4],
    optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 },
    steps: 8,
  },
  {
    name: 'MoBY (Swin)',
    model: { type: 'MoBY', backbone: tinySwin, neck: { type: 'NonLinearNeckV2', hid_channels: 16, out_channels: 8 }, predictor: { type: 'LatentPredictHead', predictor: { type: 'NonLinearNeckV2', hid_channels: 16 } }, queue_len: 1024 },
    sizes: [8, 8],
    optimizer: { type: 'AdamW', lr: 3e-3, weight_decay: 0.05 },
    steps: 8,
  },
  {
    name: 'DINO (ViT, multi-crop)',
    model: { type: 'DINO', backbone: tinyViT, head: { type: 'DINOHead', hid_channels: 16, bottleneck_channels: 8, out_channels: 32 }, warmup_teacher_temp_epochs: 2, freeze_last_layer_epochs: 1 },
    sizes: [8, 8, 4, 4],
    optimizer: { type: 'AdamW', lr: 5e-3, weight_decay: 0.04 },
    steps: 8,
  },
  {
    name: 'MAE',
    model: { type: 'MAE', backbone: tinyViT, neck: { type: 'MAENeck', decoder_embed_dim: 16, decoder_depth: 1, decoder_num_heads: 2 } },
    sizes: [8],
    optimizer: { type: 'AdamW', lr: 5e-3, weight_decay: 0.05 },
    steps: 10,
  },
];

describe('self-supervised algorithms: a few steps on a small fixed batch', () => {
  for (const c of cases) {
    it(`${c.name}: finite loss that decreases`, () => {
      seedInit(0);
      const model = build<Algorithm>('model', c.model);
      model.train();
      const batch: TensorBatch = { views: views(c.sizes), raw: undefined as never };
      const losses = trainSteps(model, batch, c.optimizer, c.steps);
      expectLearning(losses);
      model.eval();
      const f = model.extract(batch.views[0]);
      expect(f.shape[0]).toBe(8);
      expect(Number.isFinite(tf.sum(f).dataSync()[0])).toBe(true);
      model.dispose();
    }, 60_000);
  }
});

describe('what the algorithms hold still', () => {
  const snapshot = (v: tf.Variable) => Float32Array.from(v.dataSync());
  const changed = (a: Float32Array, b: Float32Array) => a.some((x, i) => Math.abs(x - b[i]) > 1e-7);

  it('momentum targets are not trainable (no gradient is ever computed for them)', () => {
    seedInit(0);
    for (const c of cases.filter((x) => ['MoCoV2', 'BYOL', 'DINO (ViT, multi-crop)'].includes(x.name))) {
      const model = build<Algorithm>('model', c.model);
      const trainable = new Set(model.trainableVariables());
      const targets = model.namedParameters().filter(([n]) => /^(key_|target_|teacher_)/.test(n));
      expect(targets.length).toBeGreaterThan(0);
      for (const [, p] of targets) expect(trainable.has(p.variable)).toBe(false);
      model.dispose();
    }
  });

  it('SwAV keeps its prototypes on the unit sphere and still during the first epoch; DINO its last layer', () => {
    seedInit(0);
    const swav = build<Algorithm & { head: { prototypes: { weight: tf.Variable } } }>('model', cases[3].model);
    swav.train();
    const w = swav.head.prototypes.weight;
    const start = snapshot(w);
    const seen: Float32Array[] = [];
    trainSteps(swav, { views: views(cases[3].sizes), raw: undefined as never }, cases[3].optimizer, 4, () => seen.push(snapshot(w)));
    // itersPerEpoch is 2: steps 0 and 1 are the first epoch.
    expect(changed(seen[1], start)).toBe(false);
    expect(changed(seen[3], seen[1])).toBe(true);
    // Updates move prototypes off the sphere; the algorithm's hook puts them back before each step.
    expect(Math.max(...Array.from(tf.norm(w, 'euclidean', 0).dataSync()).map((v) => Math.abs(v - 1)))).toBeGreaterThan(1e-4);
    swav.hooks!()[0].beforeIter!({} as RunnerApi);
    for (const norm of tf.norm(w, 'euclidean', 0).dataSync()) expect(norm).toBeCloseTo(1, 5);

    seedInit(0);
    const dino = build<Algorithm & { head: { lastLayerVariables(): tf.Variable[] } }>('model', cases[5].model);
    dino.train();
    const last = dino.head.lastLayerVariables()[0];
    const before = snapshot(last);
    const lastSeen: Float32Array[] = [];
    trainSteps(dino, { views: views(cases[5].sizes), raw: undefined as never }, cases[5].optimizer, 4, () => lastSeen.push(snapshot(last)));
    expect(changed(lastSeen[1], before)).toBe(false);
    expect(changed(lastSeen[3], lastSeen[1])).toBe(true);
  }, 60_000);
});

describe('MAE encoder', () => {
  it('sees only the visible patches: changing the pixels of masked patches leaves its tokens unchanged, and the loss counts only masked patches', () => {
    seedInit(0);
    const mae = build<Algorithm & { encodeVisible(x: tf.Tensor4D, m: unknown): tf.Tensor3D; forwardLoss(x: tf.Tensor4D, m: unknown): { loss: tf.Scalar } }>('model', cases[6].model);
    mae.eval();
    const m = randomMasking(2, 16, 0.75, new Random(3));
    const images = views([8], 2)[0];
    // Overwrite every masked 2x2 patch with noise.
    const px = images.arraySync();
    for (let b = 0; b < 2; b++) {
      for (let p = 0; p < 16; p++) {
        if (!m.mask[b * 16 + p]) continue;
        const r = Math.floor(p / 4) * 2;
        const c = (p % 4) * 2;
        for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) px[b][r + dy][c + dx][0] = 5 + b + p;
      }
    }
    const changed = tf.tensor4d(px);
    expect(m.keep).toBe(4);
    const a = mae.encodeVisible(images, m);
    expect(a.shape).toEqual([2, 1 + 4, 16]);
    const b = mae.encodeVisible(changed, m);
    expect(Math.max(...Array.from(tf.abs(tf.sub(a, b)).dataSync()))).toBeLessThan(1e-5);
    // The reconstruction loss does see them (they are the targets).
    expect(Math.abs(mae.forwardLoss(images, m).loss.dataSync()[0] - mae.forwardLoss(changed, m).loss.dataSync()[0])).toBeGreaterThan(1e-3);
    mae.dispose();
  });
});
