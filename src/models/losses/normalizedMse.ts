/**
 * BYOL's regression loss (Grill et al., Bootstrap Your Own Latent, NeurIPS 2020, arXiv:2006.07733,
 * Eq. 2): the mean squared error between L2-normalised prediction and target,
 *
 *   L = || p/|p| - z/|z| ||^2 = 2 - 2 * <p, z> / (|p| |z|),
 *
 * averaged over the batch. The target is cut from the gradient by the caller (target network).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { lossSpec } from './lossSlot';
import { rowCosine } from './negativeCosine';

/** Mean over the batch of 2 - 2 cos(p, z); `p`, `z` are `[batch, dim]`. */
export function normalizedMseLoss(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(2, tf.mul(rowCosine(p, z, 'BYOL loss: prediction and target'), 2))) as tf.Scalar);
}

register(
  'loss',
  lossSpec('prediction', {
    type: 'NormalizedMSELoss',
    description: 'Mean squared error of the L2-normalised prediction and target, 2 - 2 cos (BYOL)',
    paper: 'Grill et al., Bootstrap Your Own Latent (BYOL), NeurIPS 2020, arXiv:2006.07733, Eq. 2',
    params: z.strictObject({}),
    build: () => normalizedMseLoss,
  }),
);
