/**
 * The gradient of a matrix product whose batch dimensions broadcast (a [2,m,k] times b [1,k,n],
 * or a rank-2 a times a batch of b). tfjs-core's BatchMatMul gradient returns the gradients at the
 * broadcast shape, and the engine then refuses them ("the gradient of input 'b' has shape [2,k,n],
 * which does not match the shape of the input [1,k,n]") on every backend. Summed over the
 * broadcast batch dimensions, as for any broadcasting op, they are the gradients of the inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BatchMatMul, type GradConfig, type NamedAttrMap } from '@tensorflow/tfjs-core';

/** `g` summed over the dimensions `shape` broadcast along, reshaped to `shape`. */
export function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const axes = tf.backend_util.getReductionAxes(shape, g.shape);
  return tf.reshape(axes.length ? tf.sum(g, axes) : g, shape);
}

const installed = new Set<GradConfig>();

export function installBroadcastMatMulGradient(): void {
  const original = tf.getGradient(BatchMatMul);
  if (!original) throw new Error(`no gradient is registered for ${BatchMatMul}: load tfjs-core's gradients first`);
  if (installed.has(original)) return;
  const config: GradConfig = {
    kernelName: BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
      const [a, b] = saved;
      const grads = original.gradFunc(dy, saved, attrs);
      return {
        a: () => unbroadcast(grads.a(), a.shape),
        b: () => unbroadcast(grads.b(), b.shape),
      };
    },
  };
  installed.add(config);
  tf.registerGradient(config);
}
