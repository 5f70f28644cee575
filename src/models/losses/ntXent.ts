/**
 * NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (Chen et al., A Simple
 * Framework for Contrastive Learning of Visual Representations, ICML 2020, arXiv:2002.05709,
 * Eq. 1 and Algorithm 1).
 *
 * For a batch of N images seen twice, the 2N projections are L2-normalised; for each of them the
 * other view of the same image is the positive and the remaining 2N - 2 projections are the
 * negatives:
 *
 *   l(i, j) = -log( exp(sim(z_i, z_j) / T) / sum_{k != i} exp(sim(z_i, z_k) / T) )
 *   L = 1 / 2N * sum_k [ l(2k-1, 2k) + l(2k, 2k-1) ]
 *
 * Typical temperatures: 0.1 to 0.5 (0.5 in the paper's CIFAR-10 runs, 0.1 with large batches).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { l2Normalize } from '../nn/l2Normalize';
import { lossSpec } from './lossSlot';

/**
 * NT-Xent of two views: `z1`, `z2` are `[batch, dim]` projections (row i of both from the same
 * image); returns the mean loss over the 2N anchors.
 */
export function ntXentLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature: number): tf.Scalar {
  if (!(temperature > 0)) throw new Error(`NT-Xent: temperature must be > 0, got ${temperature}`);
  if (z1.shape[0] !== z2.shape[0] || z1.shape[1] !== z2.shape[1]) throw new Error(`NT-Xent: views have shapes [${z1.shape}] and [${z2.shape}]; they must match`);
  return tf.tidy(() => {
    const n = z1.shape[0];
    const zs = l2Normalize(tf.concat([z1, z2], 0)) as tf.Tensor2D;
    const sim = tf.div(tf.matMul(zs, zs, false, true), temperature);
    // An anchor is never its own negative: push the diagonal to -inf (a large finite value keeps
    // the gradient of logSoftmax clean).
    const logits = tf.sub(sim, tf.mul(tf.eye(2 * n), 1e9));
    const positives = new Int32Array(2 * n);
    for (let i = 0; i < n; i++) {
      positives[i] = i + n;
      positives[i + n] = i;
    }
    const target = tf.oneHot(tf.tensor1d(positives, 'int32'), 2 * n);
    return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

export const ntXentParams = z.strictObject({
  temperature: z.number().gt(0, 'temperature must be > 0: use 0.1 to 0.5').default(0.1).describe('Softmax temperature T (SimCLR: 0.1 with large batches, 0.5 on CIFAR-10); > 0'),
});

register(
  'loss',
  lossSpec('views', {
    type: 'NTXentLoss',
    description: 'Normalised temperature-scaled cross-entropy over two views (SimCLR)',
    paper: 'Chen et al., A Simple Framework for Contrastive Learning of Visual Representations (SimCLR), ICML 2020, arXiv:2002.05709, Eq. 1',
    params: ntXentParams,
    build: (p) => (z1, z2) => ntXentLoss(z1, z2, p.temperature),
  }),
);
