/**
 * BYOL's regression loss (Grill et al., Bootstrap Your Own Latent, NeurIPS 2020, arXiv:2006.07733,
 * Eq. 2): the mean squared error between L2-normalised prediction and target,
 *
 *   L = || p/|p| - z/|z| ||^2 = 2 - 2 * <p, z> / (|p| |z|),
 *
 * averaged over the batch. The target is cut from the gradient by the caller (target network).
 */
import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize } from './ntXent';

/** Mean over the batch of 2 - 2 cos(p, z); `p`, `z` are `[batch, dim]`. */
export function normalizedMseLoss(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  if (p.shape[0] !== z.shape[0] || p.shape[1] !== z.shape[1]) throw new Error(`BYOL loss: prediction [${p.shape}] and target [${z.shape}] must have the same shape`);
  return tf.tidy(() => {
    const cos = tf.sum(tf.mul(l2Normalize(p), l2Normalize(z)), 1);
    return tf.mean(tf.sub(2, tf.mul(cos, 2))) as tf.Scalar;
  });
}
