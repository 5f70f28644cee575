/**
 * InfoNCE (van den Oord et al., Representation Learning with Contrastive Predictive Coding, 2018,
 * arXiv:1807.03748) in the form MoCo uses (He et al., Momentum Contrast for Unsupervised Visual
 * Representation Learning, CVPR 2020, arXiv:1911.05722, Eq. 1 and Algorithm 1):
 *
 *   L_q = -log( exp(q.k+ / T) / (exp(q.k+ / T) + sum_i exp(q.k_i / T)) )
 *
 * i.e. a (K+1)-way softmax cross-entropy whose correct class is the positive, at index 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { lossSpec } from './lossSlot';

/** Mean InfoNCE over the batch from the positive logits `[N, 1]` and the negative logits `[N, K]` (similarities, before the temperature). */
export function infoNCE(pos: tf.Tensor2D, neg: tf.Tensor2D, temperature: number): tf.Scalar {
  if (!(temperature > 0)) throw new Error(`InfoNCE: temperature must be > 0, got ${temperature}`);
  if (pos.shape[1] !== 1 || pos.shape[0] !== neg.shape[0]) throw new Error(`InfoNCE: expected pos [N, 1] and neg [N, K], got [${pos.shape}] and [${neg.shape}]`);
  return tf.tidy(() => {
    const logits = tf.div(tf.concat([pos, neg], 1), temperature);
    // -log softmax at index 0 = logsumexp(row) - row[0]
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.reshape(tf.slice(logits, [0, 0], [-1, 1]), [-1]))) as tf.Scalar;
  });
}

/**
 * The MoCo contrastive loss of queries `q` `[N, D]` against their keys `k` `[N, D]` (positives,
 * row by row) and a queue of negatives `[K, D]`; all three L2-normalised.
 */
export function queueContrastiveLoss(q: tf.Tensor2D, k: tf.Tensor2D, queue: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const pos = tf.sum(tf.mul(q, k), 1, true) as tf.Tensor2D;
    const neg = tf.matMul(q, queue, false, true) as tf.Tensor2D;
    return infoNCE(pos, neg, temperature);
  });
}

export const infoNCEParams = z.strictObject({
  temperature: z.number().gt(0, 'temperature must be > 0: use 0.07 (MoCo v1) to 0.2 (MoCo v2, MoBY)').default(0.2).describe('Softmax temperature T (MoCo v2 and MoBY: 0.2); > 0'),
});

register(
  'loss',
  lossSpec('queue', {
    type: 'InfoNCELoss',
    description: 'InfoNCE of queries against their keys (positives) and a queue of negatives (MoCo, MoBY)',
    paper: 'He et al., Momentum Contrast for Unsupervised Visual Representation Learning (MoCo), CVPR 2020, arXiv:1911.05722, Eq. 1',
    params: infoNCEParams,
    build: (p) => (q, k, queue) => queueContrastiveLoss(q, k, queue, p.temperature),
  }),
);
