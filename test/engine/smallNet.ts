/**
 * A small convolutional network in plain tfjs ops — convolutions (strided, 1x1, depthwise), the
 * engine's batch norm, relu, max and average pooling, a dense layer, softmax cross-entropy — and
 * one SGD step, for the cross-engine and memory tests.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchNormTrain } from '../../src/engine/ops/batchNorm';
import { randomValues } from './kernelHarness';

export const PARAM_SHAPES: Record<string, number[]> = {
  conv1: [3, 3, 3, 8],
  bn1_gamma: [8],
  bn1_beta: [8],
  conv2: [3, 3, 8, 12],
  dw: [3, 3, 12, 2],
  bn2_gamma: [24],
  bn2_beta: [24],
  conv3: [1, 1, 24, 16],
  dense: [16 * 2 * 2, 5],
  dense_bias: [5],
};

export function makeParams(seed = 1): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  let s = seed;
  for (const [name, shape] of Object.entries(PARAM_SHAPES)) {
    const values = randomValues(shape, s++) as Float32Array;
    if (name.endsWith('gamma')) for (let i = 0; i < values.length; i++) values[i] = 1 + 0.1 * values[i];
    else for (let i = 0; i < values.length; i++) values[i] *= 0.3;
    out[name] = tf.variable(tf.tensor(values, shape), true, `${name}_${seed}_${Math.random().toString(36).slice(2)}`);
  }
  return out;
}

/** Input [N,16,16,3] → logits [N,5]. */
export function forward(p: Record<string, tf.Variable>, x: tf.Tensor4D): tf.Tensor2D {
  let h = tf.conv2d(x, p.conv1 as tf.Tensor4D, 1, 'same');
  h = tf.relu(batchNormTrain(h, p.bn1_gamma as tf.Tensor1D, p.bn1_beta as tf.Tensor1D, 1e-5).y);
  h = tf.maxPool(h, 2, 2, 'valid'); // 8x8
  h = tf.conv2d(h, p.conv2 as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]); // 4x4
  h = tf.depthwiseConv2d(h, p.dw as tf.Tensor4D, 1, 'same');
  h = tf.relu(batchNormTrain(h, p.bn2_gamma as tf.Tensor1D, p.bn2_beta as tf.Tensor1D, 1e-5).y);
  h = tf.conv2d(h, p.conv3 as tf.Tensor4D, 1, 'valid');
  h = tf.avgPool(h, 2, 2, 'valid'); // 2x2
  const flat = tf.reshape(h, [x.shape[0], -1]);
  return tf.add(tf.matMul(flat, p.dense as tf.Tensor2D), p.dense_bias) as tf.Tensor2D;
}

export function lossOf(p: Record<string, tf.Variable>, x: tf.Tensor4D, labels: tf.Tensor1D): tf.Scalar {
  const logits = forward(p, x);
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), 5);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** One SGD step (lr 0.1); returns the loss and the gradients (as arrays) before the update. */
export function sgdStep(p: Record<string, tf.Variable>, x: tf.Tensor4D, labels: tf.Tensor1D): { loss: number; grads: Record<string, Float32Array> } {
  const { value, grads } = tf.variableGrads(() => lossOf(p, x, labels), Object.values(p));
  const out: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(p)) {
    const g = grads[v.name];
    out[name] = Float32Array.from(g.dataSync());
    tf.tidy(() => v.assign(tf.sub(v, tf.mul(g, 0.1))));
  }
  const loss = value.dataSync()[0];
  value.dispose();
  tf.dispose(Object.values(grads));
  return { loss, grads: out };
}
