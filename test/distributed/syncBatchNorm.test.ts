/**
 * SyncBatchNorm gets one process's batch-norm results from the ranks' parts of its batch: its sums
 * are per sample in float32 and over samples in float64 (so they do not depend on the split), and
 * on one rank it computes bit for bit what the wasm engine's batch norm kernels compute.
 * (The 2-rank training against 1 process is in dataParallel.test.ts.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { batchNormTrain, perSampleChannelSums } from '../../src/engine/ops/batchNorm';
import { installKernels, WASM_TRAINING_KERNELS } from '../../src/engine/kernels';
import { ensureGradients } from '../../src/engine/gradients';
import { syncBatchNormTrain } from '../../src/distributed/syncBatchNorm';
import { randomValues } from '../engine/kernelHarness';
import { maxAbsDiff } from '../helpers/tf';

beforeAll(async () => {
  ensureGradients();
  await tf.setBackend('wasm');
  installKernels(WASM_TRAINING_KERNELS);
});

const shape = [8, 5, 5, 6];
// Activations with a mean far from 0 (after a ReLU), where float32 sums over a batch drift most.
const input = () => tf.add(tf.mul(tf.tensor(randomValues(shape, 1), shape), 0.5), 3);

describe('SyncBatchNorm on the wasm engine', () => {
  it('per-sample sums: the halves of a batch add up to the whole batch (float64 rounding only)', () => {
    const x = input();
    const whole = perSampleChannelSums(x);
    const a = perSampleChannelSums(tf.slice(x, [0], [3]));
    const b = perSampleChannelSums(tf.slice(x, [3], [5]));
    for (let c = 0; c < whole.length; c++) expect(Math.abs(a[c] + b[c] - whole[c]) / whole[c]).toBeLessThan(1e-14);
    // and they are accurate: against float64 sums of the float32 values
    const values = x.dataSync();
    const exact = new Float64Array(whole.length);
    for (let i = 0; i < values.length; i++) exact[i % whole.length] += values[i];
    for (let c = 0; c < whole.length; c++) expect(Math.abs(whole[c] - exact[c]) / exact[c]).toBeLessThan(2e-7);
  });

  // 8 channels: the kernels' SIMD passes; 6: their composed path.
  it.each([[[8, 5, 5, 6]], [[8, 5, 5, 8]]])('one rank, %j: output, statistics and gradients bit for bit those of the single-process kernels', (shape) => {
    const x = tf.add(tf.mul(tf.tensor(randomValues(shape, 1), shape), 0.5), 3);
    const gamma = tf.tensor1d([0.5, 1, 1.5, 0.8, 1.2, 0.9, 1.1, 0.7].slice(0, shape[3]));
    const beta = tf.tensor1d([0.1, -0.2, 0, 0.3, -0.1, 0.2, 0.05, -0.3].slice(0, shape[3]));
    const dy = tf.tensor(randomValues(shape, 2), shape);
    let calls = 0;
    const alone = (data: Float64Array) => {
      expect(data).toBeInstanceOf(Float64Array);
      calls++;
    };
    const single = batchNormTrain(x, gamma, beta, 1e-5);
    const sync = syncBatchNormTrain(x, gamma, beta, 1e-5, alone);
    expect(maxAbsDiff(sync.y.dataSync(), single.y.dataSync())).toBe(0);
    expect(maxAbsDiff(sync.mean.dataSync(), single.mean.dataSync())).toBe(0);
    expect(maxAbsDiff(sync.variance.dataSync(), single.variance.dataSync())).toBe(0);
    expect(sync.count).toBe(8 * 5 * 5);
    expect(single.y.shape).toEqual(shape);
    const grads = (f: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) => tf.grads((a, g, b) => tf.sum(tf.mul(f(a, g, b), dy)))([x, gamma, beta]);
    const gs = grads((a, g, b) => batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y);
    const gy = grads((a, g, b) => syncBatchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5, alone).y);
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(gy[i].dataSync(), gs[i].dataSync()), ['dx', 'dgamma', 'dbeta'][i]).toBe(0);
    // mean, variance, then the backward pass's two sums in one call
    expect(calls).toBe(2 + 2 + 1);
  });
});
