/**
 * Layer normalisation over the last axis (Ba et al., Layer Normalization, 2016, arXiv:1607.06450)
 * with its closed-form gradient: batch norm's algebra (ops/batchNorm.ts) per row of D features
 * instead of per channel. With x̂ = (x − μ)·σ⁻¹ per row, σ = √(var + ε) and g = dy·γ,
 *
 *   ∂x = σ⁻¹ · (g − mean(g) − x̂·mean(g·x̂)),   ∂γ = Σ_rows dy·x̂,   ∂β = Σ_rows dy.
 *
 * TensorFlow.js differentiates `tf.moments` op by op and keeps every intermediate for the
 * backward pass: in a ViT-S step that was a large share of the element-wise work and of the memory
 * that stopped batch 32 on the wasm engine (BENCHMARKS.md, issue 24). This keeps x̂ and σ⁻¹.
 */
import * as tf from '@tensorflow/tfjs-core';

export function layerNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor {
  const features = x.shape[x.rank - 1];
  const normalise = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const { mean, variance } = tf.moments(input, -1, true);
    const inv = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(tf.sub(input, mean), inv);
    save([xhat, inv, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xh, iv, gm] = saved;
          const d = dy as tf.Tensor;
          const gx = tf.mul(d, gm);
          const dx = tf.mul(tf.sub(tf.sub(gx, tf.mean(gx, -1, true)), tf.mul(xh, tf.mean(tf.mul(gx, xh), -1, true))), iv);
          const rows = (t: tf.Tensor) => tf.reshape(t, [-1, features]);
          return [dx, tf.sum(rows(tf.mul(d, xh)), 0), tf.sum(rows(d), 0)];
        }),
    };
  });
  return normalise(x, gamma, beta) as tf.Tensor;
}
