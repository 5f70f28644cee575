/**
 * Batch normalisation with statistics over the whole batch of every rank (PyTorch's SyncBatchNorm):
 * the mean, then the variance, each summed over the ranks; in the backward pass the sums of dy and
 * dy·(x − μ) likewise. Each rank's loss is its own batch's mean and the gradients are averaged after
 * the step, so N ranks x batch B train exactly like one process x batch N·B.
 *
 * "Exactly" needs the same statistics as one process computes, to the last bit where possible: a
 * float32 sum over a batch depends on how the batch is split (on the wasm engine, 2 x 32 against 64
 * samples moved the mean by ~1e-6 per layer and the weights of a ResNet-18 by 1.3e-3 after two
 * steps). So the sums are taken per sample in float32 (the same values whichever process holds the
 * sample), added up in float64 and summed over the ranks in float64: totals that agree with one
 * process's up to float64 rounding. The per-channel arithmetic and the passes over the activations
 * then follow the wasm kernel of the single-process path (src/engine/kernels/batchNormTrain.ts)
 * step by step, which also sums per sample.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SumOverRanks } from '../models/nn/batchNormSync';
import { perSampleChannelSums } from '../engine/ops/batchNorm';

/** A float32 [C] tensor of float64 values. */
const vector = (values: ArrayLike<number>): tf.Tensor1D => tf.tensor1d(Float32Array.from(values));

export function syncBatchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D | undefined, beta: tf.Tensor1D | undefined, eps: number, sum: SumOverRanks): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D; count: number } {
  const c = x.shape[x.rank - 1];
  const m = x.size / c;
  const stats = new Float64Array(c + 1);
  stats.set(perSampleChannelSums(x));
  stats[c] = m;
  sum(stats);
  const count = stats[c];
  const mean = vector(stats.subarray(0, c).map((v) => v / count));
  // Two passes (mean first), as the single-process kernel computes it: no E[x²] - E[x]² cancellation.
  const centredSquares = tf.tidy(() => tf.reshape(tf.square(tf.sub(tf.reshape(x, [m, c]), mean)), x.shape));
  const squares = perSampleChannelSums(centredSquares);
  centredSquares.dispose();
  sum(squares);
  const variance64 = squares.map((v) => v / count);
  const variance = vector(variance64);
  const variance32 = variance.dataSync().slice();
  const g = gamma ? Float64Array.from(gamma.dataSync()) : undefined;
  const normalise = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xIn = args[0] as tf.Tensor;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    // What the backward pass needs is saved with it (a model's tidy scopes may free the rest first).
    save([xIn, mean]);
    // y = (x − μ)·(γσ⁻¹) + β with γσ⁻¹ in float64, as the kernel does.
    const scale = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) scale[ch] = (g ? g[ch] : 1) / Math.sqrt(variance64[ch] + eps);
    const value = tf.tidy(() => {
      const scaled = tf.mul(tf.sub(tf.reshape(xIn, [m, c]), mean), vector(scale));
      return tf.reshape(beta ? tf.add(scaled, beta) : scaled, xIn.shape);
    });
    return {
      value,
      gradFunc: (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const dy = tf.reshape(dyIn as tf.Tensor, [m, c]);
          const inv = new Float64Array(c);
          for (let ch = 0; ch < c; ch++) inv[ch] = 1 / Math.sqrt(variance32[ch] + eps);
          const centred = tf.sub(tf.reshape(saved[0], [m, c]), saved[1]);
          const dbeta = perSampleChannelSums(tf.reshape(dy, x.shape));
          const dyCentred = perSampleChannelSums(tf.reshape(tf.mul(dy, centred), x.shape));
          const dgamma = dyCentred.map((v, ch) => v * inv[ch]);
          const both = new Float64Array(2 * c);
          both.set(dbeta);
          both.set(dyCentred, c);
          sum(both);
          // ∂x = (dy·k + (x − μ)·a) + b per channel over the whole batch: k = γσ⁻¹, a = −k·σ⁻¹·∂γ/M, b = −k·∂β/M.
          const k = new Float64Array(c);
          const a = new Float64Array(c);
          const b = new Float64Array(c);
          for (let ch = 0; ch < c; ch++) {
            k[ch] = (g ? g[ch] : 1) * inv[ch];
            a[ch] = (-k[ch] * inv[ch] * (both[c + ch] * inv[ch])) / count;
            b[ch] = (-k[ch] * both[ch]) / count;
          }
          const dx = tf.reshape(tf.add(tf.add(tf.mul(dy, vector(k)), tf.mul(centred, vector(a))), vector(b)), x.shape);
          // gamma and beta: this rank's sums (averaged over the ranks with the other gradients).
          return [dx, ...(gamma ? [vector(dgamma)] : []), ...(beta ? [vector(dbeta)] : [])];
        }),
    };
  });
  const params = [gamma, beta].filter((t): t is tf.Tensor1D => t !== undefined);
  return { y: normalise(x, ...params) as tf.Tensor, mean, variance, count };
}
