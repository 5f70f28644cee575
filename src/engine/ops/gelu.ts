/**
 * Exact GELU (Hendrycks and Gimpel, Gaussian Error Linear Units, 2016, arXiv:1606.08415),
 * x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2, for training, with its closed-form gradient
 *
 *   d/dx x·Φ(x) = Φ(x) + x·φ(x),   φ(x) = exp(−x²/2)/√(2π).
 *
 * TensorFlow.js' autodiff of the composed ops keeps four tensors of the MLP's hidden size for the
 * backward pass; this keeps only x and recomputes Φ and φ there (memory, not FLOPs, stopped a ViT-S
 * at batch 32 on the wasm engine: BENCHMARKS.md, issue 24).
 */
import * as tf from '@tensorflow/tfjs-core';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function phi(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))), 0.5);
}

export function geluTrain(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([input]);
    return {
      value: tf.mul(input, phi(input)),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [v] = saved;
          const density = tf.mul(tf.exp(tf.mul(tf.square(v), -0.5)), INV_SQRT_2PI);
          return [tf.mul(dy as tf.Tensor, tf.add(phi(v), tf.mul(v, density)))];
        }),
    };
  });
  return f(x) as tf.Tensor;
}
