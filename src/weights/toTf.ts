/** From decoded weight tensors to TensorFlow.js tensors (float32 or int32). */
import * as tf from '@tensorflow/tfjs-core';
import type { WeightTensor } from './tensor';

export function toTfTensor(t: WeightTensor): tf.Tensor {
  return tf.tensor(t.values, t.shape, t.values instanceof Float32Array ? 'float32' : 'int32');
}

export function toTfTensors(tensors: Map<string, WeightTensor>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [k, t] of tensors) out.set(k, toTfTensor(t));
  return out;
}
