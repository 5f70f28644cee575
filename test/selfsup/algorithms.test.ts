import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { ensureGradients } from '../../src/engine/gradients';
import { installKernels, WASM_TRAINING_KERNELS } from '../../src/engine/kernels';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { seedInit } from '../../src/models/nn';
import { Random } from '../../src/core/random';
import { randomMasking } from '../../src/models/algorithms/selfsup/mae';
import { sincos2d } from '../../src/models/necks/maeNeck';
import { maxAbsDiff } from '../helpers/tf';
import type { Algorithm, TensorBatch } from '../../src/models/algorithms/types';
import type { RunnerApi } from '../../src/train/hook';
import { cases, trainSteps, views } from './tinyAlgorithms';

// The wasm engine with its training kernels, as `engine.backend: wasm` runs (the cpu backend's
// convolution gradients are far slower).
beforeAll(async () => {
  ensureGradients();
  await tf.setBackend('wasm');
  installKernels(WASM_TRAINING_KERNELS);
});

function expectLearning(losses: number[]): void {
  for (const l of losses) expect(Number.isFinite(l)).toBe(true);
  const k = Math.max(1, Math.floor(losses.length / 3));
  const first = losses.slice(0, k).reduce((a, b) => a + b, 0) / k;
  const last = losses.slice(-k).reduce((a, b) => a + b, 0) / k;
  expect(last).toBeLessThan(first);
}

describe('self-supervised algorithms: a few steps on a small fixed batch', () => {
  for (const c of cases) {
    it(`${c.name}: finite loss that decreases`, async () => {
      seedInit(0);
      const model = build<Algorithm>('model', c.model);
      model.train();
      const batch: TensorBatch = { views: views(c.sizes), raw: undefined as never };
      const losses = await trainSteps(model, batch, c.optimizer, c.steps);
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

  it('SwAV keeps its prototypes on the unit sphere and still during the first epoch; DINO its last layer', async () => {
    seedInit(0);
    const swav = build<Algorithm & { head: { prototypes: { weight: tf.Variable } } }>('model', cases[3].model);
    swav.train();
    const w = swav.head.prototypes.weight;
    const start = snapshot(w);
    const seen: Float32Array[] = [];
    await trainSteps(swav, { views: views(cases[3].sizes), raw: undefined as never }, cases[3].optimizer, 4, () => seen.push(snapshot(w)));
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
    await trainSteps(dino, { views: views(cases[5].sizes), raw: undefined as never }, cases[5].optimizer, 4, () => lastSeen.push(snapshot(last)));
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

  it('has the fixed 2-D sine-cosine position embeddings of the reference (class token row zero), which no step trains', () => {
    seedInit(0);
    const mae = build<Algorithm & { backbone: { posEmbed: tf.Variable; gridSize: number; embedDim: number } }>('model', cases[6].model);
    const { posEmbed, gridSize: g, embedDim: d } = mae.backbone;
    const pos = posEmbed.dataSync();
    expect(maxAbsDiff(Array.from(pos.subarray(0, d)), new Array(d).fill(0))).toBe(0);
    expect(maxAbsDiff(Array.from(pos.subarray(d)), Array.from(sincos2d(d, g, g)))).toBe(0);
    expect(posEmbed.trainable).toBe(false);
    expect(mae.trainableVariables()).not.toContain(posEmbed);
    mae.dispose();
  });
});
