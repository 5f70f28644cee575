/**
 * MAE's reconstruction loss (He et al., Masked Autoencoders Are Scalable Vision Learners, CVPR
 * 2022, arXiv:2111.06377, Section 3 "Reconstruction target"): the mean squared error between the
 * decoder's prediction and the pixels of each patch, computed on the masked patches only; with
 * `normPixLoss` the target of each patch is its pixels normalised by that patch's own mean and
 * standard deviation, which the paper finds improves the representation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { lossSpec } from './lossSlot';

/** Images `[B, H, W, C]` as patches `[B, (H/p)*(W/p), p*p*C]` in row-major patch order, pixels (row, col, channel) within a patch. */
export function patchify(images: tf.Tensor4D, p: number): tf.Tensor3D {
  const [b, h, w, c] = images.shape;
  if (h % p !== 0 || w % p !== 0) throw new Error(`patchify: image ${h}x${w} is not a multiple of the patch size ${p}`);
  return tf.tidy(() => {
    const gh = h / p;
    const gw = w / p;
    const x = tf.reshape(images, [b, gh, p, gw, p, c]);
    return tf.reshape(tf.transpose(x, [0, 1, 3, 2, 4, 5]), [b, gh * gw, p * p * c]) as tf.Tensor3D;
  });
}

/**
 * Mean over masked patches of the per-patch mean squared error. `pred`, `target` `[B, N, P]`;
 * `mask` `[B, N]` with 1 for masked (hidden, predicted) patches and 0 for visible ones.
 */
export function maskedPatchLoss(pred: tf.Tensor3D, target: tf.Tensor3D, mask: tf.Tensor2D, normPixLoss: boolean): tf.Scalar {
  return tf.tidy(() => {
    let t: tf.Tensor = target;
    if (normPixLoss) {
      const { mean, variance } = tf.moments(target, -1, true);
      // The paper normalises with the unbiased variance (torch.var default) and eps 1e-6.
      const n = target.shape[2];
      const unbiased = tf.mul(variance, n / Math.max(1, n - 1));
      t = tf.div(tf.sub(target, mean), tf.sqrt(tf.add(unbiased, 1e-6)));
    }
    const perPatch = tf.mean(tf.square(tf.sub(pred, t)), -1);
    return tf.div(tf.sum(tf.mul(perPatch, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}

export const maskedMseParams = z.strictObject({
  norm_pix_loss: z.boolean().default(true).describe('Predict each patch\'s pixels normalised by its own mean and standard deviation (better representations)'),
});

register(
  'loss',
  lossSpec('patches', {
    type: 'MaskedMSELoss',
    description: 'Mean squared error of predicted and true patch pixels, over the masked patches only (MAE)',
    paper: 'He et al., Masked Autoencoders Are Scalable Vision Learners (MAE), CVPR 2022, arXiv:2111.06377, Section 3',
    params: maskedMseParams,
    build: (p) => (pred, target, mask) => maskedPatchLoss(pred, target, mask, p.norm_pix_loss),
  }),
);
