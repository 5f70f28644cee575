import * as tf from '@tensorflow/tfjs-core';

/** Whether the active backend has a kernel of this name (the engine's own fused kernels are registered for some backends only). */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}
