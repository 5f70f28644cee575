/**
 * One optimizer update of one parameter, for src/train/optimizers: SGD (PyTorch's momentum,
 * Nesterov, L2 weight decay) and AdamW (decoupled weight decay). Backends with the `CvwSgdStep` /
 * `CvwAdamWStep` kernels (wasm: one SIMD sweep, kernels/optimizerSteps.ts) run the update as one
 * kernel; others compose it from tf ops, eight to fourteen sweeps over the parameter. Both are the
 * same float32 operations in the same order, so they give the same bits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './backendKernel';

export const SGD_STEP = 'CvwSgdStep';
export const ADAMW_STEP = 'CvwAdamWStep';

export interface SgdStep {
  lr: number;
  weightDecay: number;
  /** 0: plain SGD, no buffer. */
  momentum: number;
  nesterov: boolean;
  /** The parameter's first step: the buffer starts from the gradient (PyTorch). */
  fresh: boolean;
}

/** The updated parameter and momentum buffer (undefined without momentum). */
export function sgdStep(w: tf.Tensor, grad: tf.Tensor, buf: tf.Tensor | undefined, s: SgdStep): { w: tf.Tensor; buf?: tf.Tensor } {
  if (hasKernel(SGD_STEP) && w.dtype === 'float32' && grad.dtype === 'float32') {
    const inputs: tf.NamedTensorMap = buf && s.momentum > 0 ? { w, grad, buf } : { w, grad };
    const [wNext, bufNext] = tf.engine().runKernel(SGD_STEP, inputs, { ...s }) as tf.Tensor[];
    return { w: wNext, buf: bufNext };
  }
  let g = s.weightDecay > 0 ? tf.add(grad, tf.mul(w, s.weightDecay)) : grad;
  let next: tf.Tensor | undefined;
  if (s.momentum > 0) {
    next = s.fresh || !buf ? g : tf.add(tf.mul(buf, s.momentum), g);
    g = s.nesterov ? tf.add(g, tf.mul(next, s.momentum)) : next;
  }
  return { w: tf.sub(w, tf.mul(g, s.lr)), buf: next };
}

export interface AdamWStep {
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − β1^t and 1 − β2^t at step t. */
  correction1: number;
  correction2: number;
  lr: number;
  weightDecay: number;
}

/** The updated parameter and first and second moments. */
export function adamwStep(w: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: AdamWStep): { w: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  if (hasKernel(ADAMW_STEP) && w.dtype === 'float32' && grad.dtype === 'float32') {
    const [wNext, mNext, vNext] = tf.engine().runKernel(ADAMW_STEP, { w, grad, m, v }, { ...s }) as tf.Tensor[];
    return { w: wNext, m: mNext, v: vNext };
  }
  const mNext = tf.add(tf.mul(m, s.beta1), tf.mul(grad, 1 - s.beta1));
  const vNext = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(grad), 1 - s.beta2));
  const denom = tf.add(tf.div(tf.sqrt(vNext), Math.sqrt(s.correction2)), s.eps);
  const decayed = s.weightDecay > 0 ? tf.mul(w, 1 - s.lr * s.weightDecay) : w;
  return { w: tf.sub(decayed, tf.mul(tf.div(mNext, denom), s.lr / s.correction1)), m: mNext, v: vNext };
}
