/** Stochastic gradient descent with momentum (PyTorch's formulation), Nesterov, L2 weight decay. */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { Optimizer, paramwiseSchema, type OptimParam, type OptimizerFactory } from './optimizer';

export const sgdParams = z.strictObject({
  lr: z.number().positive().describe('Base learning rate (the schedule scales it)'),
  momentum: z.number().min(0).max(1).default(0.9).describe('Momentum factor (0 = plain SGD)'),
  nesterov: z.boolean().default(false).describe('Nesterov momentum (Sutskever et al., 2013)'),
  weight_decay: z.number().min(0).default(0).describe('L2 penalty added to the gradient (5e-4 for CIFAR ResNets, 1e-4 on ImageNet)'),
  paramwise: paramwiseSchema,
});

export class SGD extends Optimizer<z.output<typeof sgdParams>> {

  protected update(p: OptimParam, grad: tf.Tensor, lr: number): void {
    const wd = this.cfg.weight_decay * p.decayMult;
    let g = wd > 0 ? tf.add(grad, tf.mul(p.variable, wd)) : grad;
    if (this.cfg.momentum > 0) {
      // PyTorch: buf = momentum * buf + g (dampening 0); a parameter's first step starts from g.
      const fresh = !this.hasSlot(p, 'momentum');
      const buf = this.slot(p, 'momentum');
      const next = fresh ? g : tf.add(tf.mul(buf, this.cfg.momentum), g);
      buf.assign(next);
      g = this.cfg.nesterov ? tf.add(g, tf.mul(next, this.cfg.momentum)) : next;
    }
    p.variable.assign(tf.sub(p.variable, tf.mul(g, lr)));
  }
}

register('optimizer', {
  type: 'SGD',
  description: 'Stochastic gradient descent with momentum, Nesterov and L2 weight decay',
  paper: 'Sutskever et al., On the importance of initialization and momentum in deep learning, ICML 2013',
  params: sgdParams,
  build: (p): OptimizerFactory => (named) => new SGD(named, p),
});
