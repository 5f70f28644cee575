import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu, maxAbsDiff } from '../helpers/tf';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { seedInit } from '../../src/models/nn';
import type { Backbone } from '../../src/models/backbones/types';
import { MobileNetV2, makeDivisible, mobilenetV2Params } from '../../src/models/backbones/mobilenetV2';
import { VisionTransformer, visionTransformerParams } from '../../src/models/backbones/visionTransformer';

beforeAll(async () => {
  await useCpu();
});

describe('MobileNetV2', () => {
  it('has the parameter count of torchvision mobilenet_v2 (3,504,872 with its 1000-class classifier)', () => {
    seedInit(0);
    const m = new MobileNetV2(mobilenetV2Params.parse({}));
    expect(m.parameterCount() + 1280 * 1000 + 1000).toBe(3504872);
    m.dispose();
  });

  it('rounds widths like the reference and returns the requested stages', () => {
    expect([makeDivisible(32 * 0.35), makeDivisible(16 * 0.5), makeDivisible(1280 * 1.4)]).toEqual([16, 8, 1792]);
    const m = new MobileNetV2(mobilenetV2Params.parse({ width_mult: 0.35, in_channels: 1, stem_stride: 1, out_indices: [2, 7] }));
    const outs = m.forward(tf.zeros([2, 28, 28, 1]) as tf.Tensor4D);
    expect(outs.map((o) => o.shape)).toEqual([
      [2, 7, 7, 16],
      [2, 2, 2, 1280],
    ]);
    m.dispose();
  });
});

describe('VisionTransformer', () => {
  it('tiny preset: 5.5M parameters at 224/16 (timm vit_tiny_patch16_224 without its head: 5,524,416)', () => {
    seedInit(0);
    const v = new VisionTransformer(visionTransformerParams.parse({ arch: 'tiny' }));
    expect(v.parameterCount()).toBe(5524416);
    v.dispose();
  });

  it('returns class-token features, and interpolates position embeddings for other sizes', () => {
    seedInit(1);
    const v = new VisionTransformer(visionTransformerParams.parse({ arch: 'custom', embed_dim: 32, depth: 2, num_heads: 4, img_size: 32, patch_size: 8, in_channels: 1, out_indices: [0, -1] }));
    v.eval();
    const x = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const [f0, f1] = v.forward(x);
    expect(f0.shape).toEqual([2, 32]);
    expect(f1.shape).toEqual([2, 32]);
    // A 16x16 crop gives a 2x2 grid, interpolated from the 4x4 position embeddings.
    expect(v.forward(tf.slice(x, [0, 0, 0, 0], [2, 16, 16, 1]) as tf.Tensor4D)[1].shape).toEqual([2, 32]);
    // Batch independence in eval mode: the first sample's features do not depend on the second.
    const alone = v.forward(tf.slice(x, [0, 0, 0, 0], [1, 32, 32, 1]) as tf.Tensor4D)[1];
    expect(maxAbsDiff(alone.dataSync(), f1.dataSync().slice(0, 32))).toBeLessThan(1e-5);
    v.dispose();
  });

  it('attention gradients match finite differences', () => {
    seedInit(2);
    const v = new VisionTransformer(visionTransformerParams.parse({ arch: 'custom', embed_dim: 8, depth: 1, num_heads: 2, img_size: 8, patch_size: 4, in_channels: 1, drop_path_rate: 0 }));
    const f = (x: tf.Tensor) => tf.sum(tf.square(v.forward(x as tf.Tensor4D)[0])) as tf.Scalar;
    const x = tf.randomNormal([1, 8, 8, 1], 0, 1, 'float32', 5);
    const analytic = tf.grad(f)(x).dataSync();
    const base = x.dataSync();
    for (const i of [0, 9, 27, 63]) {
      const h = 1e-2;
      const p = base.slice();
      p[i] += h;
      const m = base.slice();
      m[i] -= h;
      const num = (f(tf.tensor(p, x.shape)).dataSync()[0] - f(tf.tensor(m, x.shape)).dataSync()[0]) / (2 * h);
      expect(analytic[i]).toBeCloseTo(num, 2);
    }
  });
});

describe('every registered backbone', () => {
  const small: Record<string, Record<string, unknown>> = {
    ResNet: { depth: 18, stem: 'cifar', base_width: 4 },
    MobileNetV2: { width_mult: 0.35, stem_stride: 1 },
    VisionTransformer: { arch: 'custom', embed_dim: 16, depth: 1, num_heads: 2, img_size: 16, patch_size: 4 },
    ConvNeXt: { arch: 'custom', depths: [1, 1], dims: [8, 16], patch_size: 2 },
  };
  it('builds from its config and runs one forward pass with outChannels matching its outputs', () => {
    for (const type of Object.keys(small)) {
      seedInit(0);
      const b = build<Backbone>('backbone', { type, ...small[type] });
      const outs = b.forward(tf.zeros([1, 16, 16, b.inChannels]) as tf.Tensor4D);
      expect(outs.map((o) => o.shape[o.shape.length - 1])).toEqual(b.outChannels);
      b.dispose();
    }
  });
});
