import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import '../../src/api';
import { register, registries } from '../../src/core/registry';
import { Module } from '../../src/models/nn/module';
import type { Backbone } from '../../src/models/backbones/types';
import { train } from '../../src/train/train';
import { loadCheckpoint, withPrefix } from '../../src/train/checkpoint';
import { tempFiles } from '../helpers/tmp';
import type { Hook, IterOutput, RunnerApi } from '../../src/train/hook';
import { maxAbsDiff } from '../helpers/tf';

// Logistic regression on raw pixels: a parameter-free backbone and ClsHead without pooling, so
// that the maths of a step can be checked exactly (no batch statistics).
class Pixels extends Module implements Backbone {
  readonly outChannels = [48];
  readonly inChannels = 3;
  forward(x: tf.Tensor4D) {
    return [x];
  }
}

beforeAll(() => {
  register('backbone', { type: 'TestPixels', description: 'test', params: z.strictObject({ in_channels: z.number().optional() }), build: () => new Pixels() });
});
afterAll(() => {
  registries.backbone.unregister('TestPixels');
  t.cleanup();
});

const root = path.resolve(__dirname, '../..');
const base = (extra: string) => `
engine: { backend: cpu }
model:
  type: Classification
  backbone: { type: TestPixels }
  head: { type: ClsHead, with_avg_pool: false }
data:
  workers: 0
  train:
    type: ClsDataset
    shuffle: false
    source: { type: ImageFolder, root: ${root}/data/images-sample }
    pipeline: [{ type: Resize, size: 4 }, { type: ToTensor }]
${extra}
`;
const t = tempFiles({
  big: base('optimizer: { type: SGD, lr: 0.5, momentum: 0 }\nrunner: { max_iters: 1 }'),
});

async function weightsAfter(name: string, overrides: Array<[string, string]>): Promise<Float32Array> {
  const dir = path.join(t.dir, name);
  await train(t.file('big'), { workDir: dir, quiet: true, overrides: overrides.map(([key, value]) => ({ key, value, arg: `--${key} ${value}` })) });
  const ckpt = loadCheckpoint(path.join(dir, 'checkpoints', 'latest.safetensors'));
  return withPrefix(ckpt.tensors, 'model.').get('head.fc.weight')!.dataSync() as Float32Array;
}

describe('optimizer steps', () => {
  it('gradient accumulation over 2 batches of 2 equals one step on a batch of 4', async () => {
    const one = await weightsAfter('b4', [['data.train.batch_size', '4']]);
    const acc = await weightsAfter('b2x2', [
      ['data.train.batch_size', '2'],
      ['runner.accumulate_steps', '2'],
    ]);
    const none = await weightsAfter('b2', [['data.train.batch_size', '2']]);
    expect(maxAbsDiff(one, acc)).toBeLessThan(1e-6);
    expect(maxAbsDiff(one, none)).toBeGreaterThan(1e-4);
  });

  it("an epoch's last batches, fewer than accumulate_steps, make one smaller step: no batch is left out (mmcv's remainder)", async () => {
    // 12 images in batches of 4, accumulated by 2: a step on 8 samples, then one on the last 4.
    const steps: number[] = [];
    register('hook', {
      type: 'TestSamples',
      description: 'test: samples per step',
      params: z.strictObject({}),
      build: (): Hook => ({ name: 'TestSamples', priority: 0, afterIter: (_r: RunnerApi, out: IterOutput) => void steps.push(out.samples) }),
    });
    const dir = path.join(t.dir, 'remainder');
    const result = await train(t.file('big'), {
      workDir: dir,
      quiet: true,
      overrides: [
        ['data.train.batch_size', '4'],
        ['runner', '{max_epochs: 2, accumulate_steps: 2}'],
        ['hooks', '[{type: TestSamples}]'],
      ].map(([key, value]) => ({ key, value, arg: `--${key} ${value}` })),
    });
    registries.hook.unregister('TestSamples');
    expect(result.iter).toBe(4);
    // The last batch of each epoch was dropped: [8, 8], 2 iterations.
    expect(steps).toEqual([8, 4, 8, 4]);
  });

  it('gradient clipping bounds the global norm of the step: |dW| + |db| = lr * max_norm', async () => {
    const init = await weightsAfter('lr0', [
      ['data.train.batch_size', '4'],
      ['optimizer.lr', '1e-12'],
    ]);
    const clipped = await weightsAfter('clip', [
      ['data.train.batch_size', '4'],
      ['runner.grad_clip', '{max_norm: 0.001}'],
    ]);
    let sq = 0;
    for (let i = 0; i < init.length; i++) sq += (clipped[i] - init[i]) ** 2;
    // The bias moves too, so the weight part of the step is at most lr * max_norm = 5e-4.
    expect(Math.sqrt(sq)).toBeLessThanOrEqual(0.5 * 0.001 + 1e-7);
    expect(Math.sqrt(sq)).toBeGreaterThan(0.5 * 0.001 * 0.5);
  });
});
