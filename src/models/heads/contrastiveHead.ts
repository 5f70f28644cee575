/**
 * The contrastive head of MoCo and MoBY: InfoNCE with a temperature over one positive and many
 * negatives (He et al., Momentum Contrast, CVPR 2020, arXiv:1911.05722, Eq. 1; EasyCV
 * ContrastiveHead).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../core/registry';
import { Module } from '../nn/module';
import { infoNCEParams } from '../losses/infoNCE';
import { buildLoss, lossShorthand, lossSlot, type Losses } from '../losses/lossSlot';

export const contrastiveHeadParams = z.strictObject({
  loss: lossSlot('queue', 'InfoNCELoss'),
  temperature: lossShorthand(infoNCEParams, 'temperature', 'InfoNCELoss'),
});

export class ContrastiveHead extends Module {
  private readonly lossFn: Losses['queue'];

  constructor(
    readonly params: z.output<typeof contrastiveHeadParams>,
    ctx: BuildContext,
  ) {
    super();
    this.lossFn = buildLoss(ctx, 'ContrastiveHead', 'queue', params.loss, { temperature: params.temperature });
  }

  /** Loss of L2-normalised queries against their keys and a queue of negatives `[K, D]`. */
  queueLoss(q: tf.Tensor2D, k: tf.Tensor2D, queue: tf.Tensor2D): tf.Scalar {
    return this.lossFn(q, k, queue);
  }
}

register('head', {
  type: 'ContrastiveHead',
  description: 'Queries against their keys and a queue of negatives, with InfoNCE by default (MoCo, MoBY)',
  paper: 'He et al., Momentum Contrast for Unsupervised Visual Representation Learning (MoCo), CVPR 2020, arXiv:1911.05722, Eq. 1',
  params: contrastiveHeadParams,
  build: (p, ctx) => new ContrastiveHead(p, ctx),
});
