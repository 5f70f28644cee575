/**
 * The negative cosine similarity of SimSiam (Chen and He, Exploring Simple Siamese Representation
 * Learning, CVPR 2021, arXiv:2011.10566, Eq. 1): L = -mean_i cos(p_i, z_i), the loss BYOL's
 * normalised MSE equals up to an affine map (2 - 2 cos), and mmselfsup's CosineSimilarityLoss.
 * The target is cut from the gradient by the caller.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { l2Normalize } from '../nn/l2Normalize';
import { lossSpec } from './lossSlot';

/** cos(a_i, b_i) for every row: `[batch]` from `[batch, dim]` twice. */
export function rowCosine(a: tf.Tensor2D, b: tf.Tensor2D, what = 'cosine similarity'): tf.Tensor1D {
  if (a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1]) throw new Error(`${what}: [${a.shape}] and [${b.shape}] must have the same shape`);
  return tf.tidy(() => tf.sum(tf.mul(l2Normalize(a), l2Normalize(b)), 1) as tf.Tensor1D);
}

/** -mean over the batch of cos(p, z); `p`, `z` are `[batch, dim]`. */
export function negativeCosineLoss(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(rowCosine(p, z, 'negative cosine loss'))) as tf.Scalar);
}

register(
  'loss',
  lossSpec('prediction', {
    type: 'NegativeCosineLoss',
    description: 'Negative cosine similarity of prediction and target (SimSiam; BYOL\'s loss up to 2 - 2x)',
    paper: 'Chen and He, Exploring Simple Siamese Representation Learning (SimSiam), CVPR 2021, arXiv:2011.10566, Eq. 1',
    params: z.strictObject({}),
    build: () => negativeCosineLoss,
  }),
);
