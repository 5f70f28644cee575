/** Segmentation models: dilated ResNet, FCNHead, the per-pixel loss, EncoderDecoder training and inference. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { maxAbsDiff, useCpu } from '../helpers/tf';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { seedInit } from '../../src/models/nn';
import { ResNet, resnetParams } from '../../src/models/backbones/resnet';
import { pixelCrossEntropy } from '../../src/models/losses/pixelCrossEntropy';
import { slideStarts, type EncoderDecoder } from '../../src/models/algorithms/segmentation/encoderDecoder';
import type { Batch } from '../../src/data/types';
import { adaptiveAvgPool } from '../../src/models/heads/segmentation/uperHead';

beforeAll(async () => {
  await useCpu();
});

describe('ResNet output_stride', () => {
  it('keeps stages 3-4 (os 8) or 4 (os 16) at the resolution before them with the same weights', () => {
    const x = tf.randomNormal([1, 64, 64, 3]) as tf.Tensor4D;
    const shapes: Record<number, number[][]> = {};
    const names: Record<number, string[]> = {};
    for (const os of [8, 16, 32] as const) {
      seedInit(0);
      const m = new ResNet(resnetParams.parse({ depth: 18, base_width: 16, out_indices: [0, 1, 2, 3], output_stride: os }));
      shapes[os] = m.forward(x).map((t) => t.shape);
      names[os] = m.namedParameters().map(([n, v]) => `${n}:${v.variable.shape}`);
      m.dispose();
    }
    expect(shapes[32].map((s) => s[1])).toEqual([16, 8, 4, 2]);
    expect(shapes[16].map((s) => s[1])).toEqual([16, 8, 4, 4]);
    expect(shapes[8].map((s) => s[1])).toEqual([16, 8, 8, 8]);
    expect(shapes[8].map((s) => s[3])).toEqual([16, 32, 64, 128]);
    expect(names[8]).toEqual(names[32]);
  });

  it('loads the weights of the undilated network; stages before the dilation compute the same features', () => {
    const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    seedInit(1);
    const a = new ResNet(resnetParams.parse({ depth: 18, out_indices: [1, 3] }));
    seedInit(2);
    const b = new ResNet(resnetParams.parse({ depth: 18, out_indices: [1, 3], output_stride: 8 }));
    expect(b.loadStateDict(a.stateDict())).toEqual({ missing: [], unexpected: [] });
    a.eval();
    b.eval();
    const [a2, a4] = a.forward(x);
    const [b2, b4] = b.forward(x);
    expect(maxAbsDiff(a2.dataSync(), b2.dataSync())).toBe(0);
    expect([a4.shape, b4.shape]).toEqual([
      [1, 1, 1, 512],
      [1, 4, 4, 512],
    ]);
    a.dispose();
    b.dispose();
  });
});

describe('PixelCrossEntropyLoss', () => {
  it('averages -log p over the pixels that count, weighted by class, skipping the ignore index', () => {
    const logits = tf.tensor4d([1, 2, 0, 0.5, -1, 3, 2, 2, 2, 0, 0, 5], [1, 2, 2, 3]);
    const labels = tf.tensor3d([1, 2, 255, 0], [1, 2, 2], 'int32');
    const lp = tf.logSoftmax(logits).arraySync() as number[][][][];
    const nll = [-lp[0][0][0][1], -lp[0][0][1][2], 0, -lp[0][1][1][0]];
    expect(pixelCrossEntropy(logits, labels, { ignoreIndex: 255, lossWeight: 1 }).dataSync()[0]).toBeCloseTo((nll[0] + nll[1] + nll[3]) / 3, 6);
    const w = [0.5, 2, 1];
    // mmseg's avg_non_ignore: the weighted sum over the 3 labelled pixels, not over the weights' sum 3.5 (PyTorch's).
    expect(pixelCrossEntropy(logits, labels, { ignoreIndex: 255, classWeight: w, lossWeight: 0.4 }).dataSync()[0]).toBeCloseTo((0.4 * (2 * nll[0] + 1 * nll[1] + 0.5 * nll[3])) / 3, 6);
    expect(() => pixelCrossEntropy(logits, labels, { ignoreIndex: 255, classWeight: [1, 1], lossWeight: 1 })).toThrow(/class_weight has 2 entries but the head predicts 3 classes/);
  });
});

function fcn(extra: Record<string, unknown> = {}): EncoderDecoder {
  seedInit(0);
  return build<EncoderDecoder>('model', {
    type: 'EncoderDecoder',
    backbone: { type: 'ResNet', depth: 18, out_indices: [2, 3], output_stride: 8, base_width: 8 },
    decode_head: { type: 'FCNHead', num_classes: 4, channels: 16, dropout_ratio: 0 },
    auxiliary_head: { type: 'FCNHead', num_classes: 4, in_index: 0, channels: 8, num_convs: 1, concat_input: false, loss: { type: 'PixelCrossEntropyLoss', loss_weight: 0.4 } },
    ...extra,
  });
}

/** Images with a bright square whose mask is class 1 (and 255 on a border row), the rest class 0. */
function squares(n: number, size: number): Batch {
  const img = new Float32Array(n * size * size * 3);
  const mask = new Uint8Array(n * size * size);
  for (let b = 0; b < n; b++) {
    const x0 = 2 + 3 * b;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = x >= x0 && x < x0 + 8 && y >= 4 && y < 12;
        mask[(b * size + y) * size + x] = y === 0 ? 255 : inside ? 1 : 0;
        img.fill(inside ? 1 : -1, ((b * size + y) * size + x) * 3, ((b * size + y) * size + x + 1) * 3);
      }
    }
  }
  return { views: [{ data: img, shape: [n, size, size, 3] }], indices: Int32Array.from({ length: n }, (_, i) => i), masks: { data: mask, shape: [n, size, size] } };
}

describe('EncoderDecoder', () => {
  it('trains the decode and auxiliary heads through the dilated backbone, and segments at the input size', () => {
    const m = fcn();
    const batch = squares(2, 24);
    const views = [tf.tensor4d(batch.views[0].data, batch.views[0].shape)];
    const opt = tf.train.adam(0.01);
    const losses: number[] = [];
    m.train();
    for (let i = 0; i < 8; i++) {
      const { value, grads } = tf.variableGrads(() => {
        const out = m.trainStep({ views, raw: batch });
        if (i === 0) {
          const { loss_decode, loss_aux } = out.logs!;
          expect(out.loss.dataSync()[0]).toBeCloseTo(loss_decode.dataSync()[0] + loss_aux.dataSync()[0], 5);
        }
        return out.loss;
      });
      losses.push(value.dataSync()[0]);
      // The dilated stage-4 convolution and the auxiliary head both get gradients.
      if (i === 0) {
        const params = m.namedParameters();
        const g = (name: string) => Math.max(...params.filter(([n]) => n.startsWith(name)).map(([, p]) => tf.max(tf.abs(grads[p.variable.name])).dataSync()[0]));
        expect(g('backbone.layer4.0.conv1')).toBeGreaterThan(0);
        expect(g('auxiliary_head')).toBeGreaterThan(0);
      }
      opt.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
      value.dispose();
      tf.dispose(grads);
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.6);
    m.eval();
    expect(m.segment(views[0]).shape).toEqual([2, 24, 24, 4]);
    m.dispose();
  });

  it('slides crops over the image: one crop as large as the image is whole-image inference', () => {
    expect(slideStarts(32, 32, 16)).toEqual([0]);
    expect(slideStarts(40, 32, 16)).toEqual([0, 8]);
    expect(slideStarts(64, 24, 16)).toEqual([0, 16, 32, 40]);
    const whole = fcn();
    const slide = fcn({ test_mode: 'slide', crop_size: [32, 32], stride: [20, 20] });
    whole.eval();
    slide.eval();
    const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    expect(maxAbsDiff(whole.segment(x).dataSync(), slide.segment(x).dataSync())).toBeLessThan(1e-5);
    const big = tf.randomNormal([1, 40, 48, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    expect(slide.segment(big).shape).toEqual([1, 40, 48, 4]);
    expect(() => fcn({ test_mode: 'slide' })).toThrow(/test_mode slide needs crop_size and stride/);
    whole.dispose();
    slide.dispose();
  });

  it('refuses masks with values beyond the classes, and data with another number of classes', () => {
    const m = fcn();
    const batch = squares(1, 16);
    batch.masks!.data[5] = 7;
    const views = [tf.tensor4d(batch.views[0].data, batch.views[0].shape)];
    expect(() => m.trainStep({ views, raw: batch })).toThrow(/a mask of this batch has the value 7, but the head predicts 4 classes \(0 to 3\) and ignores 255/);
    expect(() => m.checkData({ channels: 3, numClasses: 21 })).toThrow(/model.decode_head.num_classes is 4 but the training data has 21 classes/);
    m.dispose();
  });
});

describe('UPerHead', () => {
  it('pools adaptively as PyTorch (overlapping bins when the size does not divide)', () => {
    // 5 columns into 3 bins: [0, 2), [1, 4), [3, 5).
    const x = tf.tensor4d([1, 2, 3, 4, 5], [1, 1, 5, 1]);
    // One row into 3 bins repeats it, as PyTorch does.
    expect(Array.from(adaptiveAvgPool(x, 3).dataSync())).toEqual([1.5, 3, 4.5, 1.5, 3, 4.5, 1.5, 3, 4.5]);
    const y = tf.randomNormal([2, 6, 4, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    expect(maxAbsDiff(adaptiveAvgPool(y, 2).dataSync(), tf.avgPool(y, [3, 2], [3, 2], 'valid').dataSync())).toBeLessThan(1e-6);
  });

  it('fuses every backbone output into logits at the finest one, and EncoderDecoder segments at the input size', () => {
    seedInit(0);
    const m = build<EncoderDecoder>('model', {
      type: 'EncoderDecoder',
      backbone: { type: 'ResNet', depth: 18, base_width: 8, out_indices: [0, 1, 2, 3] },
      decode_head: { type: 'UPerHead', num_classes: 3, channels: 16, pool_scales: [1, 2, 3] },
    });
    m.eval();
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    expect(m.decodeHead.forward(m.backbone.forward(x) as tf.Tensor4D[]).shape).toEqual([2, 16, 16, 3]);
    expect(m.segment(x).shape).toEqual([2, 64, 64, 3]);
    expect(m.namedParameters().map(([n]) => n)).toContain('decode_head.fpn_bottleneck.conv.weight');
    expect(() => build('model', { type: 'EncoderDecoder', backbone: { type: 'ResNet', depth: 18, base_width: 8 }, decode_head: { type: 'UPerHead', num_classes: 3 } })).toThrow(/UPerHead: needs the channels of two or more backbone outputs/);
    m.dispose();
  });
});
