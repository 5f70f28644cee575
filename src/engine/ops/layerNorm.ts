/**
 * Layer normalisation over the last axis (Ba et al., Layer Normalization, 2016, arXiv:1607.06450)
 * with its closed-form gradient: batch norm's algebra (ops/batchNorm.ts) per row of D features
 * instead of per channel. With x̂ = (x − μ)·σ⁻¹ per row, σ = √(var + ε) and g = dy·γ,
 *
 *   ∂x = σ⁻¹ · (g − mean(g) − x̂·mean(g·x̂)),   ∂γ = Σ_rows dy·x̂,   ∂β = Σ_rows dy.
 *
 * TensorFlow.js differentiates `tf.moments` op by op and keeps every intermediate for the
 * backward pass: in a ViT-S step that was a large share of the element-wise work and of the memory
 * that stopped batch 32 on the wasm engine (BENCHMARKS.md, issue 24). This keeps x (the residual
 * stream, alive anyway), μ and σ⁻¹ per row, and recomputes x̂ in the backward pass.
 *
 * Backends with the `CvwLayerNormTrain` / `CvwLayerNormTrainGrad` kernels (wasm-ort:
 * ort/kernels/layerNorm.ts, one onnxruntime graph each) run each direction as one kernel; others
 * compose the formulas from tf ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './backendKernel';

export const LAYER_NORM_TRAIN = 'CvwLayerNormTrain';
export const LAYER_NORM_TRAIN_GRAD = 'CvwLayerNormTrainGrad';

/** [y, μ, σ⁻¹], the statistics of shape [...rows, 1]. */
function forward(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor[] {
  if (hasKernel(LAYER_NORM_TRAIN)) return tf.engine().runKernel(LAYER_NORM_TRAIN, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
  const { mean, variance } = tf.moments(x, -1, true);
  const inv = tf.rsqrt(tf.add(variance, epsilon));
  return [tf.add(tf.mul(tf.mul(tf.sub(x, mean), inv), gamma), beta), mean, inv];
}

/** [∂x, ∂γ, ∂β]. */
function gradient(dy: tf.Tensor, x: tf.Tensor, mean: tf.Tensor, inv: tf.Tensor, gamma: tf.Tensor): tf.Tensor[] {
  if (hasKernel(LAYER_NORM_TRAIN_GRAD)) return tf.engine().runKernel(LAYER_NORM_TRAIN_GRAD, { dy, x, mean, inv, gamma }) as tf.Tensor[];
  const features = x.shape[x.rank - 1];
  const xh = tf.mul(tf.sub(x, mean), inv);
  const gx = tf.mul(dy, gamma);
  const dx = tf.mul(tf.sub(tf.sub(gx, tf.mean(gx, -1, true)), tf.mul(xh, tf.mean(tf.mul(gx, xh), -1, true))), inv);
  const rows = (t: tf.Tensor) => tf.reshape(t, [-1, features]);
  return [dx, tf.sum(rows(tf.mul(dy, xh)), 0), tf.sum(rows(dy), 0)];
}

export function layerNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor {
  const normalise = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [y, mean, inv] = forward(input, g, b, epsilon);
    save([input, mean, inv, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.tidy(() => gradient(dy as tf.Tensor, ...(saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]))),
    };
  });
  return normalise(x, gamma, beta) as tf.Tensor;
}
