/**
 * FCMAE's encoder sees the visible patches only: its features there do not move when the hidden
 * pixels do (the sparse convolutions of the paper's code, computed densely), the hidden positions
 * are zeros, and the loss is taken on the hidden patches in the encoder's patch grid.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { seedInit } from '../../src/models/nn';
import { Random } from '../../src/core/random';
import { randomMasking } from '../../src/models/algorithms/selfsup/mae';
import { patchify } from '../../src/models/losses/maskedPatchLoss';
import type { FCMAE } from '../../src/models/algorithms/selfsup/fcmae';
import { gelu, type Linear } from '../../src/models/nn/layers';

beforeAll(async () => {
  await useCpu();
});

/** Stride 8 (a 2x2 stem, then 2x twice): 24x24 images are a 3x3 grid of 8x8 patches. */
function model(): FCMAE {
  seedInit(3);
  const m = build<FCMAE>('model', {
    type: 'FCMAE',
    backbone: { type: 'ConvNeXt', arch: 'custom', depths: [1, 1, 1], dims: [8, 16, 16], patch_size: 2, in_channels: 1, drop_path_rate: 0, use_grn: true },
    decoder_embed_dim: 16,
  });
  // GRN starts as the identity; random weights make its (visible-only) norms matter.
  for (const [name, p] of m.namedParameters()) if (name.includes('.grn.')) p.variable.assign(tf.randomUniform(p.variable.shape, 0.5, 1.5, 'float32', 5));
  return m;
}

/** 1 where the patch is hidden: [b, 3, 3, 1]. */
const HIDDEN = [0, 1, 0, 1, 1, 0, 0, 0, 1, /* second image */ 1, 0, 0, 0, 0, 1, 1, 1, 0];

describe('FCMAE', () => {
  it('the visible features do not depend on the hidden pixels; the hidden positions are zeros', () => {
    const fcmae = model();
    const images = tf.randomUniform([2, 24, 24, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const hidden = tf.tensor4d(HIDDEN, [2, 3, 3, 1]);
    const pixels = tf.reshape(tf.tile(tf.reshape(hidden, [2, 3, 1, 3, 1, 1]), [1, 1, 8, 1, 8, 1]), [2, 24, 24, 1]);
    // Other pixels wherever the patch is hidden.
    const other = tf.add(tf.mul(images, tf.sub(1, pixels)), tf.mul(tf.randomUniform([2, 24, 24, 1], -3, 3, 'float32', 2), pixels)) as tf.Tensor4D;
    const visible = tf.sub(1, hidden) as tf.Tensor4D;
    const a = fcmae.backbone.forwardMasked(images, visible);
    const b = fcmae.backbone.forwardMasked(other, visible);
    expect(a.shape).toEqual([2, 3, 3, 16]);
    expect(tf.max(tf.abs(tf.sub(a, b))).arraySync()).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(tf.mul(a, hidden))).arraySync()).toBe(0);
    expect(tf.max(tf.abs(a)).arraySync()).toBeGreaterThan(0.1);
    // Seen whole, the 7x7 convolutions carry the changed pixels into every position.
    const all = tf.ones([2, 3, 3, 1]) as tf.Tensor4D;
    const seen = tf.abs(tf.sub(fcmae.backbone.forwardMasked(images, all), fcmae.backbone.forwardMasked(other, all)));
    expect(tf.min(tf.max(seen, -1)).arraySync()).toBeGreaterThan(1e-3);
    fcmae.dispose();
  });

  it("a V2 block's GRN norms count the visible positions only, as the sparse GRN of the paper's code does", () => {
    const fcmae = model();
    fcmae.eval();
    const block = fcmae.decoder[0];
    const x = tf.mul(tf.randomNormal([2, 3, 3, 16], 0, 1, 'float32', 8), tf.sub(1, tf.tensor4d(HIDDEN, [2, 3, 3, 1]))) as tf.Tensor4D;
    const visible = tf.sub(1, tf.tensor4d(HIDDEN, [2, 3, 3, 1])) as tf.Tensor4D;
    for (const [name, p] of fcmae.namedParameters()) if (name.startsWith('decoder.0.mlp.grn.')) p.variable.assign(tf.randomUniform(p.variable.shape, 0.5, 1.5, 'float32', 9));
    // By hand: the hidden positions of the MLP's hidden layer are left out of each channel's L2 norm.
    const mlp = block.mlp as unknown as { fc1: Linear; fc2: Linear; grn: { weight: tf.Variable; bias: tf.Variable } };
    const h = tf.mul(gelu(mlp.fc1.forward(block.norm.forward(block.convDw.forward(x)))), visible);
    const norms = tf.sqrt(tf.sum(tf.square(h), [1, 2], true));
    const grn = tf.add(tf.add(h, tf.mul(mlp.grn.weight, tf.mul(h, tf.div(norms, tf.add(tf.mean(norms, -1, true), 1e-6))))), mlp.grn.bias);
    const want = tf.mul(tf.add(x, mlp.fc2.forward(grn)), visible);
    expect(tf.max(tf.abs(tf.sub(block.forward(x, visible), want))).arraySync()).toBeLessThan(1e-5);
    fcmae.dispose();
  });

  it("takes MAE's loss on the hidden patches of the encoder's grid: the visible patches' predictions do not count", () => {
    const fcmae = model();
    const images = tf.randomUniform([2, 24, 24, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const masking = randomMasking(2, 9, 0.6, new Random(7));
    expect(Array.from(masking.mask).filter((v) => v === 1)).toHaveLength(2 * 6);
    const { loss, pred } = fcmae.forwardLoss(images, masking);
    expect(pred.shape).toEqual([2, 9, 64]);
    // By hand: per-patch normalised pixels (unbiased variance, eps 1e-6), squared error averaged over the hidden patches.
    const target = patchify(images, 8);
    const { mean, variance } = tf.moments(target, -1, true);
    const normalised = tf.div(tf.sub(target, mean), tf.sqrt(tf.add(tf.mul(variance, 64 / 63), 1e-6)));
    const perPatch = tf.mean(tf.square(tf.sub(pred, normalised)), -1);
    const mask = tf.tensor2d(masking.mask, [2, 9]);
    expect(loss.arraySync()).toBeCloseTo((tf.sum(tf.mul(perPatch, mask)).arraySync() as number) / 12, 5);
    fcmae.dispose();
  });

  it('refuses images its last stage does not tile, saying the size that would', () => {
    const fcmae = model();
    expect(() => fcmae.trainStep({ views: [tf.zeros([1, 28, 28, 1]) as tf.Tensor4D], raw: undefined as never })).toThrow(
      "FCMAE: images of 28x28 do not tile into the encoder's 8x8 patches (its patch_size and stages); resize them to 32x32, or change model.backbone.patch_size or its stages",
    );
    fcmae.dispose();
  });
});
