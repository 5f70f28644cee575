/**
 * Batch normalisation with statistics over the whole batch of every rank (PyTorch's SyncBatchNorm):
 * the mean, then the variance, each summed over the ranks; in the backward pass the sums of dy and
 * dy * x̂ likewise. Each rank's loss is its own batch's mean and the gradients are averaged after
 * the step, so N ranks x batch B train exactly like one process x batch N·B.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SumOverRanks } from '../models/nn/batchNormSync';

export function syncBatchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D | undefined, beta: tf.Tensor1D | undefined, eps: number, sum: SumOverRanks): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D; count: number } {
  const channels = x.shape[x.rank - 1];
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const stats = new Float32Array(channels + 1);
  stats.set(tf.tidy(() => tf.sum(x, axes).dataSync() as Float32Array));
  stats[channels] = x.size / channels;
  sum(stats);
  const count = stats[channels];
  const mean = tf.tensor1d(stats.subarray(0, channels).map((v) => v / count));
  // Two passes (mean first), as the single-process kernel computes it: no E[x²] - E[x]² cancellation.
  const squares = new Float32Array(tf.tidy(() => tf.sum(tf.square(tf.sub(x, mean)), axes).dataSync() as Float32Array));
  sum(squares);
  const variance = tf.tensor1d(squares.map((v) => v / count));
  const invStd = tf.tidy(() => tf.rsqrt(tf.add(variance, eps)));
  const g = gamma ?? tf.onesLike(mean);
  const b = beta ?? tf.zerosLike(mean);
  const normalise = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, gIn, bIn] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const xHat = tf.mul(tf.sub(xIn, mean), invStd);
    save([xHat, gIn, invStd]);
    return {
      value: tf.add(tf.mul(xHat, gIn), bIn),
      gradFunc: (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const dy = dyIn as tf.Tensor;
          const [xh, gs, inv] = saved;
          const sumDy = tf.sum(dy, axes);
          const sumDyXHat = tf.sum(tf.mul(dy, xh), axes);
          const both = new Float32Array(2 * channels);
          both.set(sumDy.dataSync() as Float32Array);
          both.set(sumDyXHat.dataSync() as Float32Array, channels);
          sum(both);
          const meanDy = tf.tensor1d(both.subarray(0, channels).map((v) => v / count));
          const meanDyXHat = tf.tensor1d(both.subarray(channels).map((v) => v / count));
          const dx = tf.mul(tf.mul(gs, inv), tf.sub(tf.sub(dy, meanDy), tf.mul(xh, meanDyXHat)));
          // gamma and beta: this rank's sums (averaged over the ranks with the other gradients).
          return [dx, sumDyXHat, sumDy];
        }),
    };
  });
  // What the backward pass needs is saved with it (a model's tidy scopes may free the rest first).
  return { y: normalise(x, g, b), mean, variance, count };
}
