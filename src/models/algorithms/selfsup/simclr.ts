/**
 * SimCLR (Chen et al., A Simple Framework for Contrastive Learning of Visual Representations,
 * ICML 2020, arXiv:2002.05709, Algorithm 1): two augmented views of each image go through the
 * encoder f and the projection MLP g; NT-Xent pulls the two projections of an image together and
 * pushes the other 2N - 2 apart. The representation kept is f's output, before g.
 *
 * Both views run through the network as one batch of 2N, so batch norm sees both (the paper's
 * global batch norm, on one device).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import type { Backbone } from '../../backbones/types';
import type { NonLinearNeck } from '../../necks/nonLinearNeck';
import { ntXentParams } from '../../losses/ntXent';
import { buildLoss, lossShorthand, lossSlot, type Losses } from '../../losses/lossSlot';
import { rowCosine } from '../../losses/negativeCosine';
import type { StepOutput, TensorBatch } from '../types';
import { SelfSupervised, lastChannels } from './base';

export const simclrParams = z.strictObject({
  backbone: slot('backbone', 'The encoder f (ResNet, VisionTransformer, ...)'),
  neck: slot('neck', 'The projection head g (NonLinearNeckSimCLR)').default({ type: 'NonLinearNeckSimCLR' }),
  loss: lossSlot('views', 'NTXentLoss'),
  temperature: lossShorthand(ntXentParams, 'temperature', 'NTXentLoss'),
});

export class SimCLR extends SelfSupervised {
  readonly kind = 'SimCLR';
  readonly backbone: Backbone;
  readonly neck: NonLinearNeck;
  private readonly loss: Losses['views'];

  constructor(
    readonly params: z.output<typeof simclrParams>,
    ctx: BuildContext,
  ) {
    super();
    this.backbone = this.child('backbone', ctx.build<Backbone>('backbone', params.backbone));
    this.neck = this.child('neck', ctx.build<NonLinearNeck>('neck', params.neck, { in_channels: lastChannels(this.backbone) }));
    this.loss = buildLoss(ctx, 'SimCLR', 'views', params.loss, { temperature: params.temperature });
  }

  trainStep(batch: TensorBatch): StepOutput {
    this.requireViews(batch);
    const [a, b] = batch.views;
    const n = a.shape[0];
    const z = this.neck.project(this.backbone.forward(tf.concat([a, b], 0) as tf.Tensor4D).at(-1)!);
    const [z1, z2] = tf.split(z, [n, n], 0) as tf.Tensor2D[];
    const loss = this.loss(z1, z2);
    return { loss, logs: { positive_similarity: positiveSimilarity(z1, z2) } };
  }
}

/** Mean cosine similarity of the two views' projections: rises as the views agree (a health signal). */
export function positiveSimilarity(a: tf.Tensor2D, b: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(rowCosine(a, b)) as tf.Scalar);
}

register('model', {
  type: 'SimCLR',
  description: 'Contrastive learning of two views with a projection MLP and a loss of two views (NT-Xent by default)',
  paper: 'Chen et al., A Simple Framework for Contrastive Learning of Visual Representations (SimCLR), ICML 2020, arXiv:2002.05709',
  params: simclrParams,
  build: (p, ctx) => new SimCLR(p, ctx),
});
