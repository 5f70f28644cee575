import { beforeAll, describe, expect, it } from 'vitest';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu, maxAbsDiff } from '../helpers/tf';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { BatchNorm, Conv2d, Linear, LayerNorm, MaxPool2d, seedInit, stopGradient } from '../../src/models/nn';
import { batchNormSlices, withBatchNormGroups } from '../../src/models/nn/batchNormGroups';
import { MAX_BLOCKS } from '../../src/models/nn/init';
import { buildModel, parameterBudget } from '../../src/models/buildModel';
import { ResNet } from '../../src/models/backbones/resnet';
import { resnetParams } from '../../src/models/backbones/resnet';

beforeAll(async () => {
  await useCpu();
});

/** Central finite difference of a scalar function of one tensor, at a few coordinates. */
function numericGrad(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, coords: number[], h = 1e-2): number[] {
  const base = x.dataSync().slice();
  return coords.map((i) => {
    const plus = base.slice();
    plus[i] += h;
    const minus = base.slice();
    minus[i] -= h;
    const fp = tf.tidy(() => f(tf.tensor(plus, x.shape)).dataSync()[0]);
    const fm = tf.tidy(() => f(tf.tensor(minus, x.shape)).dataSync()[0]);
    return (fp - fm) / (2 * h);
  });
}

describe('layers', () => {
  it('Conv2d pads like PyTorch (symmetric) and keeps the size at stride 1', () => {
    seedInit(1);
    const conv = new Conv2d(2, 3, 3, { stride: 2 });
    const y = conv.forward(tf.ones([1, 5, 5, 2]) as tf.Tensor4D);
    // PyTorch: floor((5 + 2*1 - 3) / 2) + 1 = 3
    expect(y.shape).toEqual([1, 3, 3, 3]);
    // Corner output sees 2x2 of the 3x3 window (one row and column of zero padding).
    const w = conv.weight.arraySync() as number[][][][];
    let corner = 0;
    for (let i = 1; i < 3; i++) for (let j = 1; j < 3; j++) for (let c = 0; c < 2; c++) corner += w[i][j][c][0];
    expect(y.arraySync()[0][0][0][0]).toBeCloseTo(corner, 5);
  });

  it('batch norm in training mode normalises over N, H, W and updates running stats like PyTorch', () => {
    const bn = new BatchNorm(2, { momentum: 0.1 });
    const x = tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [2, 2, 1, 2]);
    const y = bn.forward(x);
    const mean = tf.mean(y, [0, 1, 2]).dataSync();
    expect(Math.abs(mean[0])).toBeLessThan(1e-6);
    // running_mean = 0.9 * 0 + 0.1 * batch mean; running_var uses the unbiased variance.
    expect(Array.from(bn.runningMean.dataSync())).toEqual([expect.closeTo(0.25, 6), expect.closeTo(2.5, 5)]);
    const unbiased0 = ((1 - 2.5) ** 2 + (2 - 2.5) ** 2 + (3 - 2.5) ** 2 + (4 - 2.5) ** 2) / 3;
    expect(bn.runningVar.dataSync()[0]).toBeCloseTo(0.9 + 0.1 * unbiased0, 5);
    bn.eval();
    const ye = bn.forward(x).dataSync();
    expect(ye[0]).toBeCloseTo((1 - 0.25) / Math.sqrt(0.9 + 0.1 * unbiased0 + 1e-5), 4);
  });

  it('batch norm in groups normalises each slice of the batch alone, and its running stats average the slices (SplitBatchNorm)', () => {
    const x = tf.tensor4d([1, 2, 4, 8, 3, 5, 9, 20, 2, 3], [5, 1, 1, 2]);
    const rows = (x.arraySync() as number[][][][]).map((r) => r[0][0]);
    const bn = new BatchNorm(2, { momentum: 0.1 });
    const y = (withBatchNormGroups(2, () => bn.forward(x)).arraySync() as number[][][][]).map((r) => r[0][0]);
    // Slices of 3 and 2 rows: each normalised with its own biased statistics.
    const slices = [rows.slice(0, 3), rows.slice(3)];
    const stats = slices.map((s) => [0, 1].map((c) => {
      const m = s.reduce((a, r) => a + r[c], 0) / s.length;
      return { m, v: s.reduce((a, r) => a + (r[c] - m) ** 2, 0) / s.length, u: s.reduce((a, r) => a + (r[c] - m) ** 2, 0) / (s.length - 1) };
    }));
    rows.forEach((r, i) => {
      const st = stats[i < 3 ? 0 : 1];
      for (const c of [0, 1]) expect(y[i][c]).toBeCloseTo((r[c] - st[c].m) / Math.sqrt(st[c].v + 1e-5), 4);
    });
    // Outside withBatchNormGroups the whole batch is one slice again.
    expect(maxAbsDiff(bn.forward(x).dataSync(), new BatchNorm(2).forward(x).dataSync())).toBeLessThan(1e-6);
    const fresh = new BatchNorm(2, { momentum: 0.1 });
    withBatchNormGroups(2, () => fresh.forward(x));
    // The mean of the slices' means; the slices' variances made unbiased with the mean slice size (2.5).
    for (const c of [0, 1]) {
      expect(fresh.runningMean.dataSync()[c]).toBeCloseTo(0.1 * ((stats[0][c].m + stats[1][c].m) / 2), 5);
      expect(fresh.runningVar.dataSync()[c]).toBeCloseTo(0.9 + 0.1 * ((stats[0][c].v + stats[1][c].v) / 2) * (2.5 / 1.5), 5);
    }
  });

  it('batch norm groups never make a slice of one row: a small last batch gets fewer slices', () => {
    expect(withBatchNormGroups(8, () => batchNormSlices(512))).toEqual(Array(8).fill(64));
    expect(withBatchNormGroups(8, () => batchNormSlices(10))).toEqual([2, 2, 2, 2, 2]);
    expect(withBatchNormGroups(4, () => batchNormSlices(9))).toEqual([3, 2, 2, 2]);
    expect(withBatchNormGroups(8, () => batchNormSlices(3))).toEqual([3]);
    expect(batchNormSlices(512)).toEqual([512]);
  });

  it('gradients of conv + batch norm + linear match finite differences', () => {
    seedInit(3);
    const conv = new Conv2d(2, 3, 3);
    const bn = new BatchNorm(3);
    const fc = new Linear(3, 2);
    const f = (x: tf.Tensor) => tf.sum(tf.square(fc.forward(tf.mean(tf.relu(bn.forward(conv.forward(x as tf.Tensor4D))), [1, 2])))) as tf.Scalar;
    const x = tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 7);
    const analytic = tf.grad(f)(x).dataSync();
    const coords = [0, 5, 17, 31, 48, 63];
    const numeric = numericGrad(f, x, coords);
    coords.forEach((c, i) => expect(analytic[c]).toBeCloseTo(numeric[i], 2));
  });

  it('layer norm normalises the last axis', () => {
    const ln = new LayerNorm(4);
    const y = ln.forward(tf.tensor2d([[1, 2, 3, 4]]));
    const v = y.dataSync();
    expect(v[0]).toBeCloseTo(-1.3416, 3);
    expect(v[3]).toBeCloseTo(1.3416, 3);
  });

  it('max pooling pads with -inf, not zero', () => {
    const y = new MaxPool2d(3, 2, 1).forward(tf.fill([1, 4, 4, 1], -5) as tf.Tensor4D);
    expect(Array.from(y.dataSync())).toEqual([-5, -5, -5, -5]);
  });

  it('stopGradient passes values and blocks gradients', () => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.add(tf.mul(x, 2), tf.mul(stopGradient(x), 3))))(tf.tensor1d([1, 2]));
    expect(Array.from(g.dataSync())).toEqual([2, 2]);
  });
});

describe('parameter sizes', () => {
  it('a parameter past the size one tensor may hold is refused before it is allocated, naming the component and the shape', () => {
    // `cvw train` with num_classes 1e8 on a 32-wide backbone took 70 s and 12.6 GB before the
    // allocation failed, embed_dim 20000 4.8 GB; past 2^32 values it was a bare RangeError. Each is
    // refused at once, before its values are drawn (the sizes here fail at once either way).
    seedInit(1);
    expect(() => build('head', { type: 'ClsHead', num_classes: 200_000_000, in_channels: 32 })).toThrow(
      /^head: a parameter of shape \[32,200000000\] would hold 6,400,000,000 values \(25\.6 GB\), more than the 268,435,456 one tensor may hold: lower the sizes that make it/,
    );
    expect(() => build('model', { type: 'Classification', backbone: { type: 'VisionTransformer', arch: 'custom', img_size: 28, patch_size: 7, embed_dim: 40000, depth: 1, num_heads: 2 }, head: { type: 'ClsHead', num_classes: 2 } })).toThrow(
      /^model\.backbone: a parameter of shape \[40000,120000\]/,
    );
    expect(() => build('head', { type: 'ClsHead', num_classes: 1000, in_channels: 32 })).not.toThrow();
  });

  it('a stack of more blocks than MAX_BLOCKS is refused by the schema, naming the key, before anything is built', () => {
    // ViT depth 100000 at width 8 ran the heap out after 30 s of building.
    const vit = { type: 'VisionTransformer', arch: 'custom', img_size: 28, patch_size: 7, embed_dim: 8, num_heads: 2 };
    expect(() => build('backbone', { ...vit, depth: 100_000 })).toThrow(/backbone\.depth: Too big: expected number to be <=256/);
    expect(() => build('backbone', { type: 'SwinTransformer', arch: 'custom', embed_dim: 8, depths: [2, 1000], num_heads: [1, 2] })).toThrow(/backbone\.depths\.1: Too big/);
    expect(() => build('backbone', { type: 'SwinTransformer', arch: 'custom', embed_dim: 8, depths: Array(9).fill(1), num_heads: Array(9).fill(1) })).toThrow(/backbone\.depths: Too big: expected array to have <=8 items/);
    expect(() => build('neck', { type: 'MAENeck', decoder_depth: 257 })).toThrow(/neck\.decoder_depth: Too big/);
    expect(() => build('backbone', { type: 'CSPDarknet', deepen_factor: 1000 })).toThrow(/backbone\.deepen_factor: Too big/);
    expect(MAX_BLOCKS).toBe(256);
    expect(() => build('backbone', { ...vit, depth: 2 })).not.toThrow();
  });

  it('a model is built within a budget of parameter values, refused at the block that passes it', () => {
    // Each parameter and each stack is in bounds; wide and deep together still drew all the memory.
    const cfg = { type: 'Classification', backbone: { type: 'ResNet', depth: 18, stem: 'cifar', in_channels: 1 }, head: { type: 'ClsHead', num_classes: 10, in_channels: 512 } };
    expect(() => buildModel(cfg, { purpose: 'train', seed: 0, maxParameterValues: 5_000_000 })).toThrow(
      /^model\.backbone: the model's parameters pass 5,000,000 values \(0\.02 GB\) while it is built, more than a quarter of this machine's [\d.]+ GB of memory, and training holds about four times its parameters.*: lower its depth or widths/,
    );
    // torchvision's 11,689,512 with a 3x3 one-channel stem and ten classes is 11,172,810; with the batch-norm statistics it fits 11.2 million.
    const m = buildModel(cfg, { purpose: 'train', seed: 0, maxParameterValues: 11_200_000 });
    expect(m.parameterCount()).toBe(11_689_512 - 7 * 7 * 3 * 64 + 3 * 3 * 64 - 1000 * 513 + 10 * 513);
    m.dispose();
    // The budget ends with its build: the same model outside one is unbounded.
    expect(() => build<ResNet>('backbone', cfg.backbone).dispose()).not.toThrow();
    // The budget is a share of the memory the engine's tensors live in: the machine's here (cpu backend).
    expect(parameterBudget('train').values).toBe(Math.floor(os.totalmem() / 16));
    expect(parameterBudget('load')).toEqual({ values: Math.floor(os.totalmem() / 8), what: expect.stringMatching(/^more than half of this machine's .*loading holds its weights twice/) });
  });
});

describe('ResNet', () => {
  it('returns the requested stages with the right shapes, CIFAR and ImageNet stems, any input channels', () => {
    seedInit(0);
    const cifar = new ResNet(resnetParams.parse({ depth: 18, stem: 'cifar', in_channels: 1, out_indices: [0, 3], base_width: 8 }));
    const outs = cifar.forward(tf.zeros([2, 28, 28, 1]) as tf.Tensor4D);
    expect(outs.map((o) => o.shape)).toEqual([
      [2, 28, 28, 8],
      [2, 4, 4, 64],
    ]);
    expect(cifar.outChannels).toEqual([8, 64]);
    const imnet = new ResNet(resnetParams.parse({ depth: 50, base_width: 8 }));
    expect(imnet.forward(tf.zeros([1, 64, 64, 3]) as tf.Tensor4D)[0].shape).toEqual([1, 2, 2, 256]);
    cifar.dispose();
    imnet.dispose();
  });

  it('has the parameter count of torchvision ResNet-18 (11,689,512 with a 1000-class fc)', () => {
    seedInit(0);
    const r = new ResNet(resnetParams.parse({ depth: 18 }));
    // torchvision's count includes fc: 512 * 1000 + 1000.
    expect(r.parameterCount() + 512 * 1000 + 1000).toBe(11689512);
    r.dispose();
  });

  it('freezes stages and keeps their batch-norm statistics fixed', () => {
    const r = new ResNet(resnetParams.parse({ depth: 18, stem: 'cifar', base_width: 4, frozen_stages: 1 }));
    const names = r.namedParameters().filter(([, p]) => !p.variable.trainable).map(([n]) => n);
    expect(names.every((n) => n.startsWith('stem.') || n.startsWith('layer1.'))).toBe(true);
    expect(names.length).toBeGreaterThan(0);
    r.train();
    const before = r.namedBuffers().find(([n]) => n.startsWith('layer1.'))![1].dataSync().slice();
    r.forward(tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D);
    const after = r.namedBuffers().find(([n]) => n.startsWith('layer1.'))![1].dataSync();
    expect(maxAbsDiff(before, after)).toBe(0);
    r.dispose();
  });

  it('the same seed builds the same weights', () => {
    seedInit(42);
    const a = new ResNet(resnetParams.parse({ depth: 18, base_width: 4 }));
    seedInit(42);
    const b = new ResNet(resnetParams.parse({ depth: 18, base_width: 4 }));
    const wa = a.namedParameters()[0][1].variable.dataSync();
    const wb = b.namedParameters()[0][1].variable.dataSync();
    expect(maxAbsDiff(wa, wb)).toBe(0);
  });
});

describe('stopGradient and memory', () => {
  it('shares data safely: disposing either tensor first leaves the other readable, and nothing leaks', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3]);
    const y = stopGradient(x);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    const a = tf.tensor1d([4, 5]);
    const b = stopGradient(a);
    b.dispose();
    expect(Array.from(a.dataSync())).toEqual([4, 5]);
    a.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
