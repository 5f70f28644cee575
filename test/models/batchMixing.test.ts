/**
 * MixUp and CutMix of a classification batch as timm's Mixup ('batch' mode): the images, lambda,
 * the switch and mix probabilities, and the loss, which must equal cross-entropy on timm's mixed
 * soft targets (label smoothing folded in as its mixup_target does).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { Random } from '../../src/core/random';
import { batchMixingParams, mixBatch } from '../../src/models/algorithms/batchMixing';
import { seedStep, stepRandom } from '../../src/models/nn/stepRandom';
import type { Classification } from '../../src/models/algorithms/classification';
import type { TensorBatch } from '../../src/models/algorithms/types';

beforeAll(async () => {
  await useCpu();
});

const params = (p: Record<string, unknown>) => batchMixingParams.parse(p);
/** Four 6x5 images of 2 channels, each value distinct. */
const images = () => tf.tensor4d(Float32Array.from({ length: 4 * 6 * 5 * 2 }, (_, i) => i), [4, 6, 5, 2]);

describe('Beta draws', () => {
  it('have the moments of Beta(a, b), also below a = 1', () => {
    for (const [a, b] of [
      [0.8, 0.8],
      [1, 1],
      [2, 5],
      [0.2, 0.2],
    ]) {
      const rng = new Random(7);
      const xs = Array.from({ length: 40_000 }, () => rng.beta(a, b));
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
      expect(xs.every((x) => x >= 0 && x <= 1)).toBe(true);
      expect(Math.abs(mean - a / (a + b)), `mean of Beta(${a}, ${b})`).toBeLessThan(0.01);
      expect(Math.abs(variance - (a * b) / ((a + b) ** 2 * (a + b + 1))), `variance of Beta(${a}, ${b})`).toBeLessThan(0.005);
    }
  });
});

describe('mixBatch', () => {
  it('MixUp: every image is lam x itself + (1 - lam) x the reversed batch', () => {
    const x = images();
    const m = mixBatch(x, params({ cutmix_alpha: 0 }), new Random(1))!;
    expect(m.kind).toBe('mixup');
    expect(m.lam).toBeGreaterThan(0);
    expect(m.lam).toBeLessThan(1);
    const want = tf.add(tf.mul(x, m.lam), tf.mul(tf.reverse(x, 0), 1 - m.lam));
    expect(tf.max(tf.abs(tf.sub(m.images, want))).arraySync()).toBeLessThan(1e-4);
  });

  it("CutMix: the reversed batch's pixels inside the box, its own outside, lam the area left", () => {
    const x = images();
    for (let seed = 0; seed < 20; seed++) {
      const m = mixBatch(x, params({ mixup_alpha: 0 }), new Random(seed))!;
      expect(m.kind).toBe('cutmix');
      const { y0, y1, x0, x1 } = m.box!;
      expect(m.lam).toBeCloseTo(1 - ((y1 - y0) * (x1 - x0)) / 30, 6);
      const got = m.images.arraySync();
      const own = x.arraySync();
      for (let n = 0; n < 4; n++)
        for (let y = 0; y < 6; y++)
          for (let c = 0; c < 5; c++) {
            const inside = y >= y0 && y < y1 && c >= x0 && c < x1;
            expect(got[n][y][c]).toEqual(own[inside ? 3 - n : n][y][c]);
          }
    }
  });

  it('mixes prob of the batches, CutMix switch_prob of those with both on; the draws follow the step seed', () => {
    const p = params({ prob: 0.6 });
    const rng = new Random(3);
    const kinds = Array.from({ length: 600 }, () => tf.tidy(() => mixBatch(images(), p, rng)?.kind ?? 'none'));
    const share = (k: string) => kinds.filter((v) => v === k).length / kinds.length;
    expect(share('none')).toBeGreaterThan(0.34);
    expect(share('none')).toBeLessThan(0.46);
    expect(share('cutmix')).toBeGreaterThan(0.24);
    expect(share('cutmix')).toBeLessThan(0.36);
    seedStep(5, 12);
    const a = mixBatch(images(), params({}), stepRandom())!;
    seedStep(5, 12);
    const b = mixBatch(images(), params({}), stepRandom())!;
    expect(b.lam).toBe(a.lam);
    expect(b.kind).toBe(a.kind);
  });

  it('a config with neither is refused', () => {
    expect(() => params({ mixup_alpha: 0, cutmix_alpha: 0 })).toThrow(/give mixup_alpha or cutmix_alpha above 0/);
  });
});

describe('Classification with mixup', () => {
  it("trains on the mixed images with cross-entropy on timm's mixed, smoothed targets, and logs no accuracy", () => {
    const model = build<Classification>('model', {
      type: 'Classification',
      // Layer norm only (no batch statistics, no dropout): the same logits in train and eval mode.
      backbone: { type: 'ConvNeXt', arch: 'custom', depths: [1, 1], dims: [4, 8], patch_size: 2, drop_path_rate: 0, in_channels: 2 },
      head: { type: 'ClsHead', num_classes: 5, label_smoothing: 0.1 },
      mixup: {},
    });
    const labels = tf.tensor1d([0, 3, 4, 1], 'int32');
    const batch: TensorBatch = { views: [tf.div(images(), 100) as tf.Tensor4D], labels, raw: { views: [], indices: new Int32Array(4) } };
    for (const iter of [0, 1, 2, 3]) {
      seedStep(9, iter);
      const out = model.trainStep(batch);
      expect(out.logs).toEqual({});
      seedStep(9, iter);
      const m = mixBatch(batch.views[0], model.params.mixup!, stepRandom())!;
      // timm's mixup_target: one-hot with off = s / K, on = 1 - s + off, mixed with the reversed batch's.
      const [s, k] = [0.1, 5];
      const oneHot = (y: tf.Tensor1D) => tf.add(tf.mul(tf.oneHot(y, k), 1 - s), s / k);
      const target = tf.add(tf.mul(oneHot(labels), m.lam), tf.mul(oneHot(tf.reverse(labels, 0) as tf.Tensor1D), 1 - m.lam));
      const logits = model.eval().predict(m.images);
      model.train();
      const want = tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), -1)));
      expect(out.loss.arraySync()).toBeCloseTo(want.arraySync() as number, 5);
    }
    model.dispose();
  });
});
