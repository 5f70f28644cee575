/**
 * Softmax cross-entropy with optional label smoothing (Szegedy et al., Rethinking the Inception
 * Architecture, CVPR 2016): the target puts 1 - eps on the true class and eps / K on every class.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { lossSpec } from './lossSlot';

/** Mean over the batch of -sum(target * log_softmax(logits)). logits `[batch, K]`, labels `[batch]` int32. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const logp = tf.logSoftmax(logits);
    let target: tf.Tensor = tf.oneHot(tf.cast(labels, 'int32'), k);
    if (labelSmoothing > 0) target = tf.add(tf.mul(target, 1 - labelSmoothing), labelSmoothing / k);
    return tf.neg(tf.mean(tf.sum(tf.mul(target, logp), -1))) as tf.Scalar;
  });
}

export const crossEntropyParams = z.strictObject({
  label_smoothing: z.number().min(0).max(1).default(0).describe('Probability mass spread over all classes (0.1 is typical)'),
});

register(
  'loss',
  lossSpec('classification', {
    type: 'CrossEntropyLoss',
    description: 'Softmax cross-entropy with optional label smoothing',
    paper: 'Label smoothing: Szegedy et al., Rethinking the Inception Architecture, CVPR 2016',
    params: crossEntropyParams,
    build: (p) => (logits, labels) => crossEntropy(logits, labels, p.label_smoothing),
  }),
);
