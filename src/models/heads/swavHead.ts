/**
 * SwAV's prototypes and loss (Caron et al., Unsupervised Learning of Visual Features by Contrasting
 * Cluster Assignments, NeurIPS 2020, arXiv:2006.09882; EasyCV SwAVHead): K trainable prototype
 * vectors C, kept on the unit sphere (re-normalised before every step, Section 4 "Implementation
 * details"), scored against L2-normalised features; codes come from Sinkhorn-Knopp and each view
 * predicts the codes of the others (swavLoss).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Module } from '../nn/module';
import { Linear } from '../nn/layers';
import { l2Normalize } from '../nn/l2Normalize';
import { swavLossParams } from '../losses/swavLoss';
import { buildLoss, lossShorthand, lossSlot, type Losses } from '../losses/lossSlot';

export const swavHeadParams = z.strictObject({
  in_channels: z.number().int().min(1).optional().describe('Width of the projected features (default: the neck\'s output)'),
  num_prototypes: z.number().int().min(2).default(3000).describe('K, the number of prototypes (3000 on ImageNet; 10x the number of classes is a rule of thumb)'),
  loss: lossSlot('prototypes', 'SwAVLoss'),
  temperature: lossShorthand(swavLossParams, 'temperature', 'SwAVLoss'),
  epsilon: lossShorthand(swavLossParams, 'epsilon', 'SwAVLoss'),
  sinkhorn_iterations: lossShorthand(swavLossParams, 'sinkhorn_iterations', 'SwAVLoss'),
});

export type SwAVHeadParams = z.output<typeof swavHeadParams>;

export class SwAVHead extends Module {
  readonly prototypes: Linear;
  private readonly lossFn: Losses['prototypes'];

  constructor(
    readonly params: SwAVHeadParams,
    ctx: BuildContext,
  ) {
    super();
    if (!params.in_channels) throw new UserError('SwAVHead: in_channels is unknown; set it, or use a neck that reports its width');
    this.prototypes = this.child('prototypes', new Linear(params.in_channels, params.num_prototypes, { bias: false }));
    this.normalizePrototypes();
    const { temperature, epsilon, sinkhorn_iterations } = params;
    this.lossFn = buildLoss(ctx, 'SwAVHead', 'prototypes', params.loss, { temperature, epsilon, sinkhorn_iterations });
  }

  /** Put every prototype back on the unit sphere (outside the gradient). */
  normalizePrototypes(): void {
    tf.tidy(() => {
      const w = this.prototypes.weight;
      w.assign(l2Normalize(w, 0));
    });
  }

  /** Prototype scores `[N, K]` of projected features `[N, D]` (normalised here). */
  scores(z: tf.Tensor2D): tf.Tensor2D {
    return this.prototypes.forward(l2Normalize(z)) as tf.Tensor2D;
  }

  /** Swapped-prediction loss of per-view scores; `queueScores` as in swavLoss. */
  loss(scores: tf.Tensor2D[], cropsForAssign: number[], queueScores?: Array<tf.Tensor2D | undefined>): tf.Scalar {
    return this.lossFn(scores, { cropsForAssign, queueScores });
  }
}

register('head', {
  type: 'SwAVHead',
  description: 'SwAV prototypes (normalised each step), Sinkhorn-Knopp codes and the swapped-prediction loss',
  paper: 'Caron et al., Unsupervised Learning of Visual Features by Contrasting Cluster Assignments (SwAV), NeurIPS 2020, arXiv:2006.09882',
  params: swavHeadParams,
  build: (p, ctx) => new SwAVHead(p, ctx),
});
