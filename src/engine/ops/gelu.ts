/**
 * Exact GELU (Hendrycks and Gimpel, Gaussian Error Linear Units, 2016, arXiv:1606.08415),
 * x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2, for training, with its closed-form gradient
 *
 *   d/dx x·Φ(x) = Φ(x) + x·φ(x),   φ(x) = exp(−x²/2)/√(2π).
 *
 * TensorFlow.js' autodiff of the composed ops keeps four tensors of the MLP's hidden size for the
 * backward pass; this keeps only x and recomputes Φ and φ there (memory, not FLOPs, stopped a ViT-S
 * at batch 32 on the wasm engine: BENCHMARKS.md, issue 24).
 *
 * Backends with the `CvwGelu` / `CvwGeluGrad` kernels (wasm-ort: ort/kernels/gelu.ts, one
 * onnxruntime graph each) run each direction as one kernel; others compose the formulas from tf ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './backendKernel';

export const GELU = 'CvwGelu';
export const GELU_GRAD = 'CvwGeluGrad';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function phi(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))), 0.5);
}

function value(x: tf.Tensor): tf.Tensor {
  if (hasKernel(GELU)) return tf.engine().runKernel(GELU, { x }) as tf.Tensor;
  return tf.mul(x, phi(x));
}

function gradient(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (hasKernel(GELU_GRAD)) return tf.engine().runKernel(GELU_GRAD, { dy, x }) as tf.Tensor;
  const density = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), INV_SQRT_2PI);
  return tf.mul(dy, tf.add(phi(x), tf.mul(x, density)));
}

export function geluTrain(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([input]);
    return {
      value: value(input),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.tidy(() => [gradient(dy as tf.Tensor, saved[0])]),
    };
  });
  return f(x) as tf.Tensor;
}
