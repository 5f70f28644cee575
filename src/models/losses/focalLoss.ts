/**
 * Focal loss (Lin et al., Focal Loss for Dense Object Detection, ICCV 2017, arXiv:1708.02002,
 * Eq. 5): FL(p_t) = -alpha_t (1 - p_t)^gamma log(p_t), which scales the cross-entropy of
 * well-classified examples down so training dwells on the hard ones.
 *
 * The sigmoid form is mmpretrain's FocalLoss (`sigmoid_focal_loss`): each class is a binary
 * problem against the one-hot target, alpha weighs the positives (1 - alpha the negatives), and
 * the mean is over every (sample, class) element. The softmax form is the multi-class reading of
 * Eq. 5 over the softmax probability of the true class, averaged over the batch (alpha, a
 * positive/negative balance, has no meaning there and is not applied). gamma = 0 gives back binary
 * resp. softmax cross-entropy.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { bceWithLogits } from './bceWithLogits';
import { lossSpec } from './lossSlot';

export interface FocalLossOptions {
  gamma: number;
  alpha: number;
  useSigmoid: boolean;
}

/** Focal loss of logits `[batch, K]` against labels `[batch]` (int32). */
export function focalLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, o: FocalLossOptions): tf.Scalar {
  return tf.tidy(() => {
    const target = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]), 'float32');
    if (o.useSigmoid) {
      const p = tf.sigmoid(logits);
      // 1 - p_t: the probability given to the wrong answer of each binary problem.
      const miss = tf.add(tf.mul(tf.sub(1, p), target), tf.mul(p, tf.sub(1, target)));
      const alpha = tf.add(tf.mul(target, o.alpha), tf.mul(tf.sub(1, target), 1 - o.alpha));
      return tf.mean(tf.mul(bceWithLogits(logits, target), tf.mul(alpha, tf.pow(miss, o.gamma)))) as tf.Scalar;
    }
    const logp = tf.sum(tf.mul(tf.logSoftmax(logits), target), -1);
    return tf.neg(tf.mean(tf.mul(tf.pow(tf.sub(1, tf.exp(logp)), o.gamma), logp))) as tf.Scalar;
  });
}

export const focalLossParams = z.strictObject({
  gamma: z.number().min(0).default(2).describe('Focusing parameter gamma: 0 is cross-entropy, 2 is the paper\'s choice'),
  alpha: z.number().min(0).max(1).default(0.25).describe('Weight of the positives in the sigmoid form (1 - alpha for the negatives; 0.25 in the paper)'),
  use_sigmoid: z.boolean().default(true).describe('Sigmoid focal loss over one binary problem per class (mmpretrain\'s); false: softmax focal loss of the true class'),
  loss_weight: z.number().min(0).default(1).describe('Factor on this loss'),
});

register(
  'loss',
  lossSpec('classification', {
    type: 'FocalLoss',
    description: 'Focal loss: cross-entropy scaled by (1 - p_t)^gamma, sigmoid (mmpretrain) or softmax form',
    paper: 'Lin et al., Focal Loss for Dense Object Detection, ICCV 2017, arXiv:1708.02002, Eq. 5',
    params: focalLossParams,
    build: (p) => (logits, labels) => tf.tidy(() => tf.mul(focalLoss(logits, labels, { gamma: p.gamma, alpha: p.alpha, useSigmoid: p.use_sigmoid }), p.loss_weight) as tf.Scalar),
  }),
);
