/**
 * The contrastive head of MoCo and MoBY: InfoNCE with a temperature over one positive and many
 * negatives (He et al., Momentum Contrast, CVPR 2020, arXiv:1911.05722, Eq. 1; EasyCV
 * ContrastiveHead).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { Module } from '../nn/module';
import { infoNCE, queueContrastiveLoss } from '../losses/infoNCE';

export const contrastiveHeadParams = z.strictObject({
  temperature: z.number().gt(0, 'temperature must be > 0: use 0.07 (MoCo v1) to 0.2 (MoCo v2, MoBY)').default(0.2).describe('Softmax temperature T (MoCo v2 and MoBY: 0.2); > 0'),
});

export class ContrastiveHead extends Module {
  constructor(readonly params: z.output<typeof contrastiveHeadParams>) {
    super();
  }

  /** Loss from positive `[N, 1]` and negative `[N, K]` similarities. */
  forward(pos: tf.Tensor2D, neg: tf.Tensor2D): tf.Scalar {
    return infoNCE(pos, neg, this.params.temperature);
  }

  /** Loss of L2-normalised queries against their keys and a queue of negatives `[K, D]`. */
  queueLoss(q: tf.Tensor2D, k: tf.Tensor2D, queue: tf.Tensor2D): tf.Scalar {
    return queueContrastiveLoss(q, k, queue, this.params.temperature);
  }
}

register('head', {
  type: 'ContrastiveHead',
  description: 'InfoNCE over one positive and many negatives, with a temperature (MoCo, MoBY)',
  paper: 'He et al., Momentum Contrast for Unsupervised Visual Representation Learning (MoCo), CVPR 2020, arXiv:1911.05722, Eq. 1',
  params: contrastiveHeadParams,
  build: (p) => new ContrastiveHead(p),
});
