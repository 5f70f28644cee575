/**
 * Sinkhorn-Knopp equipartition of SwAV (Caron et al., Unsupervised Learning of Visual Features by
 * Contrasting Cluster Assignments, NeurIPS 2020, arXiv:2006.09882, Section 3.1, Eq. 3 and its
 * Algorithm 1 / Appendix A.1).
 *
 * Soft codes Q for B samples over K prototypes that maximise Tr(Q^T C^T Z) + eps H(Q) subject to
 * the transportation polytope: every sample's code sums to 1 (rows), and every prototype receives
 * B / K of the mass (columns), so the batch cannot collapse onto a few prototypes. The solution is
 * diag(u) exp(scores / eps) diag(v), found by alternately normalising columns and rows.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Codes `[B, K]` from prototype scores `[B, K]` (cosine similarities, no gradient wanted): each
 * row sums to exactly 1 (the last step normalises rows), and each column to B / K up to the
 * convergence of the iterations (exactly in the limit).
 *
 * @param epsilon  entropic regularisation (0.05 in the paper; smaller is sharper)
 * @param iterations  normalisation rounds (3 in the paper)
 */
export function sinkhornKnopp(scores: tf.Tensor2D, epsilon = 0.05, iterations = 3): tf.Tensor2D {
  if (!(epsilon > 0)) throw new Error(`Sinkhorn-Knopp: epsilon must be > 0, got ${epsilon}`);
  if (!(iterations >= 1)) throw new Error(`Sinkhorn-Knopp: iterations must be >= 1, got ${iterations}`);
  return tf.tidy(() => {
    const [b, k] = scores.shape;
    // Subtracting the global maximum leaves Q unchanged after normalisation and keeps exp finite.
    let q: tf.Tensor = tf.exp(tf.div(tf.sub(scores, tf.max(scores)), epsilon));
    q = tf.div(q, tf.sum(q));
    for (let i = 0; i < iterations; i++) {
      // Each prototype (column) gets total mass 1/K ...
      q = tf.div(tf.div(q, tf.sum(q, 0, true)), k);
      // ... then each sample (row) total mass 1/B.
      q = tf.div(tf.div(q, tf.sum(q, 1, true)), b);
    }
    // Rows of the returned codes are probability vectors.
    return tf.mul(q, b) as tf.Tensor2D;
  });
}
