/**
 * Binary cross-entropy on logits, elementwise (PyTorch's BCEWithLogitsLoss, reduction none): the
 * objectness and classification losses of YOLOX. Written in the stable form
 * `max(x, 0) - x t + log(1 + exp(-|x|))`, which never overflows for large logits.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Elementwise loss of logits `x` against targets `t` in [0, 1] (soft targets allowed). */
export function bceWithLogits(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.softplus(tf.neg(tf.abs(x)))));
}
