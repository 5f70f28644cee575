import * as tf from '@tensorflow/tfjs-core';

/**
 * Scale all gradients together so that their global L2 norm is at most `maxNorm` (Pascanu et al.,
 * On the difficulty of training recurrent neural networks, 2013; PyTorch's clip_grad_norm_).
 * Returns new tensors; the caller disposes the inputs.
 */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    const norm = tf.sqrt(tf.addN(squares));
    const scale = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    const out: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) out[k] = tf.keep(tf.mul(g, scale));
    return out;
  });
}

/**
 * Scale each gradient on its own so that its L2 norm is at most `maxNorm`: DINO's clip_gradients
 * (Caron et al., arXiv:2104.14294, facebookresearch/dino utils.py), which clips per parameter
 * where clip_grad_norm_ clips them all together. Returns new tensors; the caller disposes the inputs.
 */
export function clipPerParameter(grads: Record<string, tf.Tensor>, maxNorm: number): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, clipByGlobalNorm({ [k]: g }, maxNorm)[k]]));
}
