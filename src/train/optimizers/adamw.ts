/** Adam with decoupled weight decay (Loshchilov and Hutter, Decoupled Weight Decay Regularization, ICLR 2019). */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { adamwStep } from '../../engine/ops/optimizerSteps';
import { Optimizer, paramwiseSchema, type OptimParam, type OptimizerFactory } from './optimizer';

export const adamwParams = z.strictObject({
  lr: z.number().positive().describe('Base learning rate (1e-3 to 1.5e-4 for transformers, scaled with the batch size)'),
  betas: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0.9, 0.999]).describe('Decay rates of the first and second moment estimates'),
  eps: z.number().positive().default(1e-8).describe('Added to the denominator for numerical stability'),
  weight_decay: z.number().min(0).default(0.05).describe('Decoupled weight decay (0.05 for ViT/DINO/MAE)'),
  paramwise: paramwiseSchema,
});

export class AdamW extends Optimizer<z.output<typeof adamwParams>> {

  protected update(p: OptimParam, grad: tf.Tensor, lr: number): void {
    const [beta1, beta2] = this.cfg.betas;
    const t = this.stepsOf(p);
    const m = this.slot(p, 'exp_avg');
    const v = this.slot(p, 'exp_avg_sq');
    const next = adamwStep(p.variable, grad, m, v, {
      beta1,
      beta2,
      eps: this.cfg.eps,
      correction1: 1 - beta1 ** t,
      correction2: 1 - beta2 ** t,
      lr,
      weightDecay: this.cfg.weight_decay * p.decayMult,
    });
    m.assign(next.m);
    v.assign(next.v);
    p.variable.assign(next.w);
  }
}

register('optimizer', {
  type: 'AdamW',
  description: 'Adam with decoupled weight decay',
  paper: 'Loshchilov and Hutter, Decoupled Weight Decay Regularization, ICLR 2019, arXiv:1711.05101',
  params: adamwParams,
  build: (p): OptimizerFactory => (named) => new AdamW(named, p),
});
