/** Stochastic gradient descent with momentum (PyTorch's formulation), Nesterov, L2 weight decay. */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { sgdStep } from '../../engine/ops/optimizerSteps';
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
    const momentum = this.cfg.momentum;
    // PyTorch: buf = momentum * buf + g (dampening 0); a parameter's first step starts from g.
    const fresh = momentum > 0 && !this.hasSlot(p, 'momentum');
    const buf = momentum > 0 ? this.slot(p, 'momentum') : undefined;
    const next = sgdStep(p.variable, grad, buf, { lr, weightDecay: this.cfg.weight_decay * p.decayMult, momentum, nesterov: this.cfg.nesterov, fresh });
    if (buf && next.buf) buf.assign(next.buf);
    p.variable.assign(next.w);
  }
}

register('optimizer', {
  type: 'SGD',
  description: 'Stochastic gradient descent with momentum, Nesterov and L2 weight decay',
  paper: 'Sutskever et al., On the importance of initialization and momentum in deep learning, ICML 2013',
  params: sgdParams,
  build: (p): OptimizerFactory => (named) => new SGD(named, p),
});
