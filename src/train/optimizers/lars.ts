/**
 * LARS (You et al., Large Batch Training of Convolutional Networks, 2017, arXiv:1708.03888), as
 * SimCLR and BYOL use it: SGD with momentum whose step for each layer is scaled by the trust ratio
 * eta * ||w|| / (||g|| + wd * ||w||). Norms and biases are excluded from the adaptation and from
 * weight decay, as in SimCLR's reference implementation.
 *
 * The rate goes into the momentum buffer, v = m * v + lr * trust * (g + wd * w), w -= v, as in
 * SimCLR's LARSOptimizer (classic momentum), BYOL's optax chain (the rate scaled before `trace`)
 * and mmselfsup/mmpretrain's LARS: where the rate changes (warm-up, cosine decay) the buffer keeps
 * the rates its gradients were taken at, unlike PyTorch's SGD (w -= lr * v).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { Optimizer, paramwiseSchema, type OptimParam, type OptimizerFactory } from './optimizer';

export const larsParams = z.strictObject({
  lr: z.number().positive().describe('Base learning rate (SimCLR: 0.3 x batch/256)'),
  momentum: z.number().min(0).max(1).default(0.9).describe('Momentum factor'),
  weight_decay: z.number().min(0).default(1e-6).describe('L2 weight decay (SimCLR: 1e-6, BYOL: 1.5e-6)'),
  eta: z.number().positive().default(0.001).describe('Trust coefficient of the layer-wise rate'),
  exclude_norm_and_bias: z.boolean().default(true).describe('No layer-wise adaptation for norms and biases'),
  paramwise: paramwiseSchema,
});

/** The state slot of the momentum buffer, the rate included. */
const VELOCITY = 'velocity';

export class LARS extends Optimizer<z.output<typeof larsParams>> {

  protected update(p: OptimParam, grad: tf.Tensor, lr: number): void {
    const wd = this.cfg.weight_decay * p.decayMult;
    let g = wd > 0 ? tf.add(grad, tf.mul(p.variable, wd)) : grad;
    const adapt = !(this.cfg.exclude_norm_and_bias && (p.role === 'norm' || p.role === 'bias'));
    if (adapt) {
      const wNorm = tf.norm(p.variable);
      const gNorm = tf.norm(grad);
      // trust = eta * |w| / (|g| + wd |w|), or 1 when either norm is zero (fresh or dead layers).
      const ratio = tf.div(tf.mul(wNorm, this.cfg.eta), tf.add(gNorm, tf.mul(wNorm, wd)));
      const usable = tf.logicalAnd(tf.greater(wNorm, 0), tf.greater(gNorm, 0));
      g = tf.mul(g, tf.where(usable, ratio, tf.onesLike(ratio)));
    }
    const fresh = !this.hasSlot(p, VELOCITY);
    const buf = this.slot(p, VELOCITY);
    // A checkpoint from before the rate went into the buffer holds it without the rate (w -= lr *
    // momentum): carried over at this step's rate.
    const old = fresh ? this.takeSlot(p, 'momentum') : undefined;
    if (old) {
      buf.assign(tf.mul(old, lr));
      old.dispose();
    }
    const next = tf.add(tf.mul(buf, this.cfg.momentum), tf.mul(g, lr));
    buf.assign(next);
    p.variable.assign(tf.sub(p.variable, next));
  }
}

register('optimizer', {
  type: 'LARS',
  description: 'Layer-wise adaptive rate scaling (SGD with per-layer trust ratios) for large-batch self-supervised training',
  paper: 'You et al., Large Batch Training of Convolutional Networks, 2017, arXiv:1708.03888',
  params: larsParams,
  build: (p): OptimizerFactory => (named) => new LARS(named, p),
});
