import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import { tempFiles } from '../helpers/tmp';
import { pythonHas, runPython } from '../data/python';
import '../../src/builtins';
import { Random } from '../../src/core/random';
import { build } from '../../src/core/registry';
import { classCount, topkAccuracy, weightedKnn, normalizeRows, type KNNEvaluator } from '../../src/eval/knn';
import { probeScores, trainLinearProbe } from '../../src/eval/linearProbe';
import { encodeNpy, readNpy, writeNpy } from '../../src/eval/npy';
import { benchmarkDatasets } from '../../src/eval/benchmark';
import { gridPool, useGridFeatures } from '../../src/eval/featureGrid';
import type { Algorithm } from '../../src/models/algorithms/types';
import { VisionTransformer, visionTransformerParams } from '../../src/models/backbones/visionTransformer';
import type { ConvNeXt } from '../../src/models/backbones/convnext';

beforeAll(async () => {
  await useCpu();
});

const t = tempFiles({});
afterAll(() => t.cleanup());

function blobs(n: number, dim: number, classes: number, spread: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = new Random(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => rng.normal(0, 1)));
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let j = 0; j < dim; j++) x[i * dim + j] = centres[y[i]][j] + rng.normal(0, spread);
  }
  return { x, y };
}

/** lightly's knn_predict as loops: cosine similarities, top k, sum of exp(sim / T) per class. */
function knnLoop(bank: Float32Array, labels: Int32Array, q: Float32Array, dim: number, classes: number, k: number, temp: number, leaveOut = false): number[][] {
  const b = normalizeRows(bank, dim);
  const qs = normalizeRows(q, dim);
  const out: number[][] = [];
  for (let i = 0; i < q.length / dim; i++) {
    const sims: Array<[number, number]> = [];
    for (let j = 0; j < labels.length; j++) {
      if (leaveOut && i === j) continue;
      let s = 0;
      for (let d = 0; d < dim; d++) s += qs[i * dim + d] * b[j * dim + d];
      sims.push([s, j]);
    }
    sims.sort((a, c) => c[0] - a[0]);
    const scores = new Array<number>(classes).fill(0);
    for (const [s, j] of sims.slice(0, k)) scores[labels[j]] += Math.exp(s / temp);
    out.push(scores);
  }
  return out;
}

describe('weighted kNN', () => {
  it('matches lightly\'s knn_predict written as loops, with and without leave-one-out', () => {
    const { x, y } = blobs(30, 4, 3, 1.0, 1);
    const q = blobs(7, 4, 3, 1.0, 2).x;
    const got = weightedKnn(x, y, q, 4, 3, { k: 5, temperature: 0.1, chunk: 3 });
    const want = knnLoop(x, y, q, 4, 3, 5, 0.1);
    for (let i = 0; i < 7; i++) for (let c = 0; c < 3; c++) expect(got.scores[i * 3 + c]).toBeCloseTo(want[i][c], 2);
    const loo = weightedKnn(x, y, x, 4, 3, { k: 5, temperature: 0.1, leaveOneOut: true, chunk: 4 });
    const wantLoo = knnLoop(x, y, x, 4, 3, 5, 0.1, true);
    for (let i = 0; i < 30; i++) for (let c = 0; c < 3; c++) expect(loo.scores[i * 3 + c] / wantLoo[i].reduce((a, v) => a + v, 0)).toBeCloseTo(wantLoo[i][c] / wantLoo[i].reduce((a, v) => a + v, 0), 4);
  });

  it('computes top-k accuracy from scores (hand-computed)', () => {
    const scores = Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.0, 0.4, 0.6]);
    // row 0: label 1 ranks first; row 1: label 1 ranks second; row 2: label 0 ranks third
    const acc = topkAccuracy(scores, Int32Array.from([1, 1, 0]), 3, [1, 2]);
    expect(acc[1]).toBeCloseTo(1 / 3, 10);
    expect(acc[2]).toBeCloseTo(2 / 3, 10);
  });

  it('counts the classes of an ImageNet-sized unnamed label set (Math.max(...labels) overflowed the call stack)', () => {
    const labels = new Int32Array(1_281_167).map((_, i) => i % 1000);
    expect(classCount(labels)).toBe(1000);
    expect(classCount(labels, ['a', 'b'])).toBe(2);
    expect(classCount(new Int32Array(0))).toBe(0);
  });

  it('is the KNNEvaluator\'s leave-one-out metric', () => {
    const { x, y } = blobs(40, 3, 2, 0.2, 3);
    const e = build<KNNEvaluator>('evaluator', { type: 'KNNEvaluator', k: 10 });
    const m = e.evaluate({ count: 40, features: x, dim: 3, labels: y, indices: new Int32Array(40), classes: ['a', 'b'] }, { name: 'val' });
    expect(m.knn_top1).toBe(1);
    expect(() => build('evaluator', { type: 'KNNEvaluator', temperature: 0 })).toThrow(/temperature must be > 0/);
  });
});

describe('linear probe', () => {
  it('separates separable classes and reports a falling training loss', () => {
    const train = blobs(600, 8, 4, 0.3, 4);
    const test = blobs(200, 8, 4, 0.3, 4);
    const probe = trainLinearProbe(train.x, train.y, 8, 4, { epochs: 5, batchSize: 64, lr: 0.1, weightDecay: 0, seed: 0 });
    expect(probe.history[4].loss).toBeLessThan(probe.history[0].loss);
    const acc = topkAccuracy(probeScores(probe, test.x), test.y, 4, [1]);
    expect(acc[1]).toBeGreaterThan(0.97);
  });

  it('matches a hand-computed first step: zero weights give loss log(K) and the mean-difference gradient', () => {
    // Two samples, one per class, standardised features [-1] and [1]: logits start at 0.
    const probe = trainLinearProbe(Float32Array.from([0, 2]), Int32Array.from([0, 1]), 1, 2, { epochs: 1, batchSize: 2, lr: 0.1, weightDecay: 0, seed: 0 });
    expect(probe.history[0].loss).toBeCloseTo(Math.log(2), 6);
    // grad W = mean over samples of x (p - onehot) = [[(-1)(0.5-1) + (1)(0.5)]/2, ...] = [[0.5, -0.5]];
    // Nesterov's first step: lr * (g + 0.9 g) at the cosine's start rate 0.1.
    const w = probe.weight;
    expect(w[0]).toBeCloseTo(-0.1 * 1.9 * 0.5, 6);
    expect(w[1]).toBeCloseTo(0.1 * 1.9 * 0.5, 6);
    expect(Array.from(probe.mean)).toEqual([1]);
    expect(Array.from(probe.std)).toEqual([1]);
  });
});

describe('grid-pooled features (--pool)', () => {
  // A [1, h, w, 2] map whose channel 0 is 10 * y + x and channel 1 is its negative.
  const ramp = (h: number, w: number) => {
    const v: number[] = [];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) v.push(10 * y + x, -(10 * y + x));
    return tf.tensor4d(v, [1, h, w, 2]);
  };

  it('averages the quadrants of a 4x4 map into [cell (row-major), channel]', () => {
    const f = gridPool(ramp(4, 4), 2);
    expect(f.shape).toEqual([1, 8]);
    // Cell (0,0) holds y,x in {0,1}: mean 5.5; (0,1): x in {2,3}: 7.5; (1,0): 25.5; (1,1): 27.5.
    expect(Array.from(f.dataSync())).toEqual([5.5, -5.5, 7.5, -7.5, 25.5, -25.5, 27.5, -27.5]);
  });

  it('uses overlapping windows when the grid does not divide the map (as adaptive_avg_pool2d), and grid 1 is the global mean', () => {
    // 5 over 2 cells: rows [0, 3) and [2, 5); columns likewise.
    const f = Array.from(gridPool(ramp(5, 5), 2).dataSync());
    expect(f[0]).toBeCloseTo(11, 6); // y, x in 0..2: mean 10 + 1
    expect(f[2]).toBeCloseTo(13, 6); // x in 2..4: mean 3
    expect(f[4]).toBeCloseTo(31, 6); // y in 2..4: mean 30 + 1
    expect(f[6]).toBeCloseTo(33, 6);
    expect(Array.from(gridPool(ramp(5, 5), 1).dataSync())).toEqual([22, -22]);
  });

  it("pools a ViT's patch tokens on their grid, the class token left out (its avg_pool feature is grid 1)", () => {
    const vit = new VisionTransformer(visionTransformerParams.parse({ arch: 'custom', embed_dim: 8, depth: 1, num_heads: 2, img_size: 12, patch_size: 4, in_channels: 1, drop_path_rate: 0, output: 'avg_pool' }));
    const model = { backbone: vit } as unknown as Algorithm;
    const x = tf.randomNormal([2, 12, 12, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const tokens = vit.forwardTokens(x);
    useGridFeatures(model, 2, 'MAE');
    const f = model.extract(x);
    expect(f.shape).toEqual([2, 4 * 8]);
    // 3x3 patches over 2 cells: rows and columns [0, 2) and [1, 3); cell (1, 0) is patches 3, 4, 6, 7 (tokens 4, 5, 7, 8).
    const cell10 = tf.mean(tf.gather(tokens, [4, 5, 7, 8], 1), 1);
    expect(Array.from(tf.slice(f, [0, 16], [2, 8]).dataSync())).toEqual(Array.from(cell10.dataSync()).map((v) => expect.closeTo(v, 6)));
    useGridFeatures(model, 1, 'MAE');
    expect(Array.from(model.extract(x).dataSync())).toEqual(Array.from(vit.forward(x)[0].dataSync()).map((v) => expect.closeTo(v, 6)));
  });

  it("pools a ConvNeXt's normalised last map (its features are pooled, then normalised: grid 1 is their mean before the norm)", () => {
    const convnext = build<ConvNeXt>('backbone', { type: 'ConvNeXt', arch: 'custom', depths: [1, 1], dims: [4, 8], patch_size: 2, in_channels: 1, drop_path_rate: 0 });
    const model = { backbone: convnext } as unknown as Algorithm;
    const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const map = convnext.forwardPatchMap(x);
    expect(map.shape).toEqual([2, 4, 4, 8]);
    useGridFeatures(model, 2, 'FCMAE');
    const f = model.extract(x);
    expect(f.shape).toEqual([2, 4 * 8]);
    // Cell (1, 1): rows and columns 2-3 of the 4x4 map.
    expect(Array.from(tf.slice(f, [0, 24], [2, 8]).dataSync())).toEqual(Array.from(tf.mean(tf.slice(map, [0, 2, 2, 0], [2, 2, 2, 8]), [1, 2]).dataSync()).map((v) => expect.closeTo(v, 6)));
  });

  it('rejects a grid larger than the map, and backbones that give vectors', () => {
    expect(() => gridPool(ramp(2, 2), 3)).toThrow(/--pool 3: the last feature map is only 2x2; use a grid of at most 2/);
    const tokens = { backbone: { forward: (x: tf.Tensor4D) => [tf.zeros([x.shape[0], 16])] } } as unknown as Algorithm;
    useGridFeatures(tokens, 2, 'DINO');
    expect(() => tokens.extract(tf.zeros([1, 8, 8, 1]))).toThrow(/--pool 2: the backbone of DINO gives tokens \(shape \[1, 16\]\), not a feature map/);
  });
});

describe('.npy files', () => {
  it('round-trip and align the data to 64 bytes', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const bytes = encodeNpy(data, [2, 3]);
    const headerLen = bytes.readUInt16LE(8);
    expect((10 + headerLen) % 64).toBe(0);
    const file = t.file('a.npy');
    writeNpy(file, data, [2, 3]);
    const back = readNpy(file);
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it.runIf(pythonHas('numpy'))('are read by numpy', () => {
    const file = t.file('b.npy');
    writeNpy(file, Int32Array.from([7, 8, 9]), [3]);
    expect(runPython('import numpy, sys; a = numpy.load(sys.argv[1]); print(a.dtype, a.shape, a.sum())', [file]).trim()).toBe('int32 (3,) 24');
  });
});

describe('benchmark data', () => {
  it('reads the training source through the test pipeline, unshuffled, when the run\'s config is used', () => {
    const data = {
      train: { type: 'MultiViewDataset', batch_size: 64, source: { type: 'FashionMNIST', subset: 'train' }, views: [{ num: 2, pipeline: [{ type: 'RandomResizedCrop', size: 28 }] }] },
      val: { type: 'ClsDataset', batch_size: 200, source: { type: 'FashionMNIST', subset: 'test' }, pipeline: [{ type: 'ToTensor' }] },
    };
    const d = benchmarkDatasets(data, 'cfg.yaml', false);
    expect(d.train).toEqual({ type: 'ClsDataset', source: data.train.source, pipeline: [{ type: 'ToTensor' }], batch_size: 200, shuffle: false, drop_last: false });
    expect(d.val).toMatchObject({ ...data.val, shuffle: false });
    expect(() => benchmarkDatasets({ train: data.train }, 'cfg.yaml', false)).toThrow(/no data.val.*--data configs\/benchmarks/);
  });
});

// Keep tf imported for the cpu backend's registration.
void tf;
