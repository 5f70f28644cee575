/**
 * batchNormTrain: forward against plain float64 loops, gradients against TensorFlow.js' own
 * autodiff of the textbook formula and against central finite differences, on the cpu backend
 * (composed ops) and the wasm backend (the CvwBatchNormTrain kernels).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { batchNormTrain } from '../../src/engine/ops/batchNorm';
import { installKernels, WASM_TRAINING_KERNELS } from '../../src/engine/kernels';
import { ensureGradients } from '../../src/engine/gradients';
import { maxAbsDiff, randomValues } from './kernelHarness';
import { batchNormPasses } from '../../src/engine/simd/batchNormPasses';
import { perSampleChannelSums, runningStatistics } from '../../src/engine/ops/batchNorm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const BACKENDS = ['cpu', 'wasm'] as const;

beforeAll(async () => {
  ensureGradients();
  await tf.setBackend('wasm');
  installKernels(WASM_TRAINING_KERNELS);
});

/** y, mean, biased variance by plain loops in float64. */
function reference(x: Float32Array, c: number, gamma: Float32Array | undefined, beta: Float32Array | undefined, eps: number) {
  const m = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c] += x[i] / m;
  for (let i = 0; i < x.length; i++) variance[i % c] += (x[i] - mean[i % c]) ** 2 / m;
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = i % c;
    y[i] = ((x[i] - mean[ch]) / Math.sqrt(variance[ch] + eps)) * (gamma ? gamma[ch] : 1) + (beta ? beta[ch] : 0);
  }
  return { y, mean, variance };
}

/** The textbook formula, differentiated op by op by TensorFlow.js. */
function textbook(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

// Channels in whole f32x4 vectors run on the wasm kernels' SIMD passes, others on their composed path.
const SHAPES: number[][] = [
  [4, 5, 6, 3],
  [2, 3, 3, 16],
  [3, 7, 7, 20],
  [7, 4], // BatchNorm1d: [batch, features]
];

describe('batchNormTrain forward', () => {
  for (const backend of BACKENDS) {
    SHAPES.forEach((shape, i) => {
      it(`${backend}: [${shape}] matches float64 loops (y, mean, variance)`, async () => {
        await tf.setBackend(backend);
        const c = shape[shape.length - 1];
        const xv = randomValues(shape, 10 + i) as Float32Array;
        for (let j = 0; j < xv.length; j++) xv[j] = 3 + 2 * xv[j]; // off-centre, not unit scale
        const gv = randomValues([c], 20 + i) as Float32Array;
        const bv = randomValues([c], 30 + i) as Float32Array;
        const ref = reference(xv, c, gv, bv, 1e-5);
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => {
          const r = batchNormTrain(tf.tensor(xv, shape), tf.tensor1d(gv), tf.tensor1d(bv), 1e-5);
          return { y: r.y.dataSync().slice(), mean: r.mean.dataSync().slice(), variance: r.variance.dataSync().slice() };
        });
        expect(tf.memory().numTensors).toBe(before);
        expect(maxAbsDiff(out.y, ref.y).diff).toBeLessThan(2e-5);
        expect(maxAbsDiff(out.mean, ref.mean).diff).toBeLessThan(2e-5);
        expect(maxAbsDiff(out.variance, ref.variance).diff).toBeLessThan(5e-5);
      });
    });
  }

  it('without gamma and beta it only normalises', async () => {
    await tf.setBackend('wasm');
    for (const c of [5, 8]) {
      const xv = randomValues([3, 4, 4, c], 3) as Float32Array;
      const ref = reference(xv, c, undefined, undefined, 1e-3);
      const y = tf.tidy(() => batchNormTrain(tf.tensor(xv, [3, 4, 4, c]), undefined, undefined, 1e-3).y.dataSync().slice());
      expect(maxAbsDiff(y, ref.y).diff).toBeLessThan(2e-5);
    }
  });

  it('rejects mismatched parameters with a clear message', async () => {
    await tf.setBackend('cpu');
    tf.tidy(() => {
      expect(() => batchNormTrain(tf.zeros([2, 3, 3, 4]), tf.ones([3]) as tf.Tensor1D, undefined, 1e-5)).toThrow(/gamma must have shape \[4\]/);
      expect(() => batchNormTrain(tf.zeros([2, 4]), undefined, undefined, 0)).toThrow(/epsilon must be > 0/);
    });
  });
});

describe('batchNormTrain gradients', () => {
  for (const backend of BACKENDS) {
    SHAPES.forEach((shape, i) => {
      it(`${backend}: [${shape}] equal TensorFlow.js autodiff of the textbook formula`, async () => {
        await tf.setBackend(backend);
        const c = shape[shape.length - 1];
        const x = tf.tensor(randomValues(shape, 40 + i) as Float32Array, shape);
        const gamma = tf.tensor1d(randomValues([c], 50 + i) as Float32Array);
        const beta = tf.tensor1d(randomValues([c], 60 + i) as Float32Array);
        const weights = tf.tensor(randomValues(shape, 70 + i) as Float32Array, shape); // a loss that weighs every output differently
        const ours = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y, weights)));
        const theirs = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(textbook(a, g, b, 1e-5), weights)));
        const before = tf.memory().numTensors;
        const got = tf.tidy(() => ours([x, gamma, beta]).map((t) => t.dataSync().slice()));
        expect(tf.memory().numTensors).toBe(before);
        await tf.setBackend('cpu');
        const want = tf.tidy(() => theirs([x, gamma, beta]).map((t) => t.dataSync().slice()));
        for (let k = 0; k < 3; k++) {
          const { diff, scale } = maxAbsDiff(got[k], want[k]);
          expect(diff, ['dx', 'dgamma', 'dbeta'][k]).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
        }
        tf.dispose([x, gamma, beta, weights]);
      });
    });
  }

  it('wasm: dx matches central finite differences', async () => {
    await tf.setBackend('wasm');
    const shape = [3, 2, 2, 2];
    const xv = Float64Array.from(randomValues(shape, 80));
    const gv = Float32Array.from([1.5, -0.7]);
    const bv = Float32Array.from([0.2, 0.1]);
    const wv = randomValues(shape, 81) as Float32Array;
    const loss = (values: ArrayLike<number>) =>
      tf.tidy(() => tf.sum(tf.mul(batchNormTrain(tf.tensor(Float32Array.from(values), shape), tf.tensor1d(gv), tf.tensor1d(bv), 1e-5).y, tf.tensor(wv, shape))).dataSync()[0]);
    const dx = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(a, tf.tensor1d(gv), tf.tensor1d(bv), 1e-5).y, tf.tensor(wv, shape))))(tf.tensor(Float32Array.from(xv), shape)).dataSync().slice());
    const h = 1e-2;
    for (let i = 0; i < xv.length; i++) {
      const plus = Float64Array.from(xv);
      const minus = Float64Array.from(xv);
      plus[i] += h;
      minus[i] -= h;
      const numeric = (loss(plus) - loss(minus)) / (2 * h);
      expect(Math.abs(dx[i] - numeric), `dx[${i}]`).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
    }
  });
});

describe('batchNormTrain with a fused ReLU / ReLU6', () => {
  // On wasm the kernels clamp y and mask dy themselves, z worked out again in the backward pass;
  // the result must be the unfused path's (the kernel, then tf.relu / tf.relu6 with their own
  // gradients) bit for bit: the same z, the same mask, the same sums. Channels 16: SIMD passes;
  // 6: the kernels' composed path. γ about ±4 puts many z above 6 and below 0.
  const run = (shape: number[], seed: number, activation: 'relu' | 'relu6', fused: boolean) => {
    const c = shape[shape.length - 1];
    const x = tf.tensor(randomValues(shape, seed) as Float32Array, shape);
    const gamma = tf.tensor1d(Float32Array.from(randomValues([c], seed + 1) as Float32Array, (v) => 4 * v));
    const beta = tf.tensor1d(Float32Array.from(randomValues([c], seed + 2) as Float32Array, (v) => 2 * v));
    const weights = tf.tensor(randomValues(shape, seed + 3) as Float32Array, shape);
    const act = (t: tf.Tensor) => (activation === 'relu' ? tf.relu(t) : tf.relu6(t));
    const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const y = fused ? batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5, activation).y : act(batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y);
      return tf.sum(tf.mul(y, weights));
    };
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => {
      const y = fused ? batchNormTrain(x, gamma, beta, 1e-5, activation).y : act(batchNormTrain(x, gamma, beta, 1e-5).y);
      return [y, ...tf.grads(f)([x, gamma, beta])].map((t) => t.dataSync().slice());
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, gamma, beta, weights]);
    return out;
  };
  for (const activation of ['relu', 'relu6'] as const) {
    for (const shape of [[2, 5, 5, 16], [3, 4, 4, 6]]) {
      it(`wasm: ${activation} on [${shape}] gives the unfused y, dx, dgamma and dbeta bit for bit`, async () => {
        await tf.setBackend('wasm');
        const [fused, unfused] = [run(shape, 90, activation, true), run(shape, 90, activation, false)];
        const y = fused[0] as Float32Array;
        // Both sides of the clamp are exercised.
        expect(y.some((v) => v === 0) && y.some((v) => v > 0 && v < 6)).toBe(true);
        if (activation === 'relu6') expect(y.some((v) => v === 6)).toBe(true);
        const profiled = await tf.profile(() => tf.tidy(() => batchNormTrain(tf.ones(shape), undefined, undefined, 1e-5, activation).y.dataSync()));
        expect(profiled.kernelNames.filter((k) => k !== 'unnamed scope')).toEqual(['CvwBatchNormTrain']); // no Relu / Relu6 of its own
        ['y', 'dx', 'dgamma', 'dbeta'].forEach((name, k) => expect(maxAbsDiff(fused[k], unfused[k]).diff, name).toBe(0));
        // And against the cpu backend's unfused path, through the textbook tolerance.
        await tf.setBackend('cpu');
        const cpu = run(shape, 90, activation, false);
        ['y', 'dx', 'dgamma', 'dbeta'].forEach((name, k) => expect(maxAbsDiff(fused[k], cpu[k]).diff, name).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbsDiff(fused[k], cpu[k]).scale)));
      });
    }
  }
});

describe('runningStatistics', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: PyTorch's momentum update with the unbiased variance`, async () => {
      await tf.setBackend(backend);
      const [rm, rv, m, v] = [1, 2, 3, 4].map((seed) => Float32Array.from(randomValues([6], seed) as Float32Array, (x) => Math.abs(x) + 0.1));
      const [mean, variance] = tf.tidy(() => runningStatistics(tf.tensor1d(rm), tf.tensor1d(rv), tf.tensor1d(m), tf.tensor1d(v), 0.1, 50).map((t) => t.dataSync().slice()));
      expect(maxAbsDiff(mean, rm.map((r, i) => 0.9 * r + 0.1 * m[i])).diff).toBeLessThan(1e-6);
      expect(maxAbsDiff(variance, rv.map((r, i) => 0.9 * r + 0.1 * v[i] * (50 / 49))).diff).toBeLessThan(1e-6);
    });
  }
});

describe('the SIMD passes of the wasm kernels (src/engine/simd/batchNorm.wat)', () => {
  it('run on the wasm backend', async () => {
    await tf.setBackend('wasm');
    expect(batchNormPasses(tf.backend() as BackendWasm)).toBeDefined();
  });

  it('sum each sample over its pixels in order, in float32, whichever batch holds it', async () => {
    await tf.setBackend('wasm');
    const shape = [3, 9, 11, 12];
    const xv = randomValues(shape, 5) as Float32Array;
    const [k, c] = [9 * 11, 12];
    // Activations after a ReLU sit far from 0: where a float32 sum's order shows most.
    for (let i = 0; i < xv.length; i++) xv[i] = Math.fround(Math.abs(xv[i]) * 7 + 3);
    const perSample = (s: number) => {
      const sums = new Float32Array(c);
      for (let p = 0; p < k; p++) for (let ch = 0; ch < c; ch++) sums[ch] = Math.fround(sums[ch] + xv[(s * k + p) * c + ch]);
      return sums;
    };
    const expected = new Float64Array(c);
    for (let s = 0; s < 3; s++) perSample(s).forEach((v, ch) => (expected[ch] += v));
    const [whole, last] = [tf.tensor(xv, shape), tf.tensor(xv.subarray(2 * k * c), [1, 9, 11, 12])];
    expect(Array.from(perSampleChannelSums(whole))).toEqual(Array.from(expected));
    expect(Array.from(perSampleChannelSums(last))).toEqual(Array.from(perSample(2)));
    tf.dispose([whole, last]);
  });
});
