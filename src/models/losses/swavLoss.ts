/**
 * SwAV's swapped prediction (Caron et al., Unsupervised Learning of Visual Features by Contrasting
 * Cluster Assignments, NeurIPS 2020, arXiv:2006.09882, Eq. 1-2): the code of one view, computed by
 * Sinkhorn-Knopp from its prototype scores, is predicted from the scores of every other view,
 *
 *   l(z_t, q_s) = - sum_k q_s^(k) log softmax(z_t C / T)^(k),
 *
 * averaged over the views that predict and over the views whose codes are predicted.
 */
import * as tf from '@tensorflow/tfjs-core';
import { sinkhornKnopp } from './sinkhorn';
import { z } from 'zod';
import { register } from '../../core/registry';
import { stopGradient } from '../nn/stopGradient';
import { lossSpec } from './lossSlot';

export interface SwAVLossOptions {
  /** Softmax temperature of the predictions (0.1). */
  temperature: number;
  /** Sinkhorn-Knopp entropic regularisation (0.05). */
  epsilon: number;
  sinkhornIterations: number;
  /** Views whose codes are computed (the two large crops: [0, 1]). */
  cropsForAssign: number[];
  /**
   * Scores of stored past features `[Q, K]` for each view of `cropsForAssign` (the optional
   * queue): appended below the batch before Sinkhorn-Knopp, so small batches still spread over
   * all prototypes; only the batch's rows of the codes are used.
   */
  queueScores?: Array<tf.Tensor2D | undefined>;
}

/** Swapped-prediction loss of `scores[v]` `[B, K]`, one per view (prototype scores z C). */
export function swavLoss(scores: tf.Tensor2D[], o: SwAVLossOptions): tf.Scalar {
  if (scores.length < 2) throw new Error(`SwAV loss: needs at least two views, got ${scores.length}`);
  for (const c of o.cropsForAssign) if (c < 0 || c >= scores.length) throw new Error(`SwAV loss: crops_for_assign names view ${c}, but there are ${scores.length}`);
  return tf.tidy(() => {
    const b = scores[0].shape[0];
    let total: tf.Tensor = tf.scalar(0);
    o.cropsForAssign.forEach((s, i) => {
      let out = stopGradient(scores[s]);
      const queued = o.queueScores?.[i];
      if (queued) out = tf.concat([out, stopGradient(queued)], 0);
      const q = tf.slice(sinkhornKnopp(out, o.epsilon, o.sinkhornIterations), [0, 0], [b, -1]);
      let sub: tf.Tensor = tf.scalar(0);
      let n = 0;
      scores.forEach((z, v) => {
        if (v === s) return;
        sub = tf.add(sub, tf.neg(tf.mean(tf.sum(tf.mul(q, tf.logSoftmax(tf.div(z, o.temperature))), 1))));
        n++;
      });
      total = tf.add(total, tf.div(sub, n));
    });
    return tf.div(total, o.cropsForAssign.length) as tf.Scalar;
  });
}

export const swavLossParams = z.strictObject({
  temperature: z.number().gt(0, 'temperature must be > 0: use 0.1').default(0.1).describe('Softmax temperature of the predictions (0.1); > 0'),
  epsilon: z.number().gt(0, 'epsilon must be > 0: use 0.05 (smaller is sharper; too small overflows)').default(0.05).describe('Entropic regularisation of Sinkhorn-Knopp (0.05); > 0'),
  sinkhorn_iterations: z.number().int().min(1).default(3).describe('Sinkhorn-Knopp iterations (3)'),
});

register(
  'loss',
  lossSpec('prototypes', {
    type: 'SwAVLoss',
    description: 'Swapped prediction: each view predicts the Sinkhorn-Knopp codes of the others (SwAV)',
    paper: 'Caron et al., Unsupervised Learning of Visual Features by Contrasting Cluster Assignments (SwAV), NeurIPS 2020, arXiv:2006.09882, Eq. 1-3',
    params: swavLossParams,
    build: (p) => (scores, o) => swavLoss(scores, { temperature: p.temperature, epsilon: p.epsilon, sinkhornIterations: p.sinkhorn_iterations, ...o }),
  }),
);
