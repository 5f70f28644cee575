/**
 * AugMix's consistency loss (Hendrycks et al., ICLR 2020, arXiv:1912.02781, Eq. 2-3) as timm's
 * JsdCrossEntropy: the views of one image (the clean one first, then its AugMix views) go through
 * the classifier together, cross-entropy is taken on the clean view, and alpha times the
 * Jensen-Shannon divergence of the views' predictions is added: the mean over views of KL(p_i || M),
 * M their mean distribution (clamped to [1e-7, 1] before its log, as timm's).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';

export const jsdParams = z.strictObject({
  alpha: z.number().min(0).default(12).describe("Weight of the Jensen-Shannon term (timm's and the paper's 12)"),
});

export type JsdParams = z.output<typeof jsdParams>;

/** Jensen-Shannon divergence of the predictions `logits[i]` ([batch, classes] each), averaged over the batch. */
export function jensenShannon(logits: tf.Tensor2D[]): tf.Scalar {
  return tf.tidy(() => {
    const probs = logits.map((l) => tf.softmax(l));
    const logMixture = tf.log(tf.clipByValue(tf.div(tf.addN(probs), probs.length), 1e-7, 1));
    const batch = logits[0].shape[0];
    // F.kl_div(log M, p, reduction='batchmean'): sum p (log p - log M) over classes and batch, / batch.
    const kls = probs.map((p, i) => tf.div(tf.sum(tf.mul(p, tf.sub(tf.logSoftmax(logits[i]), logMixture))), batch));
    return tf.div(tf.addN(kls), probs.length) as tf.Scalar;
  });
}
