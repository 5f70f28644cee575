/** L2 normalisation of rows (F.normalize): contrastive losses, queues, prototypes and DINO's head use it. */
import * as tf from '@tensorflow/tfjs-core';

/** Rows scaled to unit L2 norm (eps keeps zero rows finite, as F.normalize does). */
export function l2Normalize(x: tf.Tensor, axis = -1, eps = 1e-12): tf.Tensor {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', axis, true), eps)));
}
