/**
 * Kernels that read the wasm heap through typed-array views must not hold a view across an
 * allocation: growing WebAssembly memory detaches every view (reads give zeros or NaN). A fresh
 * process (vitest runs each file in its own) starts with a small heap, so a large first call grows
 * it inside the kernels. The batch-norm gradient is checked against the closed form in float64,
 * and the test checks that the memory really grew meanwhile.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import { batchNormTrain } from '../../src/engine/ops/batchNorm';
import { maxAbsDiff, randomValues } from './kernelHarness';

function heapBytes(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
}

/** dx, dgamma, dbeta of sum(batchNorm(x)·w) in float64 (the formulas of ops/batchNorm.ts). */
function closedForm(x: Float32Array, w: Float32Array, gamma: Float32Array, c: number, eps: number): Float64Array[] {
  const m = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c] += x[i] / m;
  for (let i = 0; i < x.length; i++) variance[i % c] += (x[i] - mean[i % c]) ** 2 / m;
  const inv = variance.map((v) => 1 / Math.sqrt(v + eps));
  const dbeta = new Float64Array(c);
  const dgamma = new Float64Array(c);
  for (let i = 0; i < x.length; i++) {
    dbeta[i % c] += w[i];
    dgamma[i % c] += w[i] * (x[i] - mean[i % c]) * inv[i % c];
  }
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = i % c;
    const xhat = (x[i] - mean[ch]) * inv[ch];
    dx[i] = gamma[ch] * inv[ch] * (w[i] - dbeta[ch] / m - (xhat * dgamma[ch]) / m);
  }
  return [dx, dgamma, dbeta];
}

describe('wasm memory growth inside kernels', () => {
  it('a large first batch-norm step on wasm-ort gives the closed-form gradients', async () => {
    await initEngine({ backend: 'wasm-ort' });
    const shape = [32, 32, 32, 32];
    const c = shape[3];
    const x = randomValues(shape, 1) as Float32Array;
    const w = randomValues(shape, 2) as Float32Array;
    const gamma = randomValues([c], 3) as Float32Array;
    const before = heapBytes();
    const got = tf.tidy(() => {
      const weights = tf.tensor(w, shape);
      const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y, weights));
      return tf.grads(f)([tf.tensor(x, shape), tf.tensor1d(gamma), tf.zeros([c])]).map((t) => Float32Array.from(t.dataSync()));
    });
    expect(heapBytes(), 'the heap must grow during the step for this test to mean anything').toBeGreaterThan(before);
    const want = closedForm(x, w, gamma, c, 1e-5);
    ['dx', 'dgamma', 'dbeta'].forEach((name, i) => {
      const { diff, scale } = maxAbsDiff(got[i], want[i]);
      expect(diff, name).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
    });
  });
});
