/**
 * BYOL's predictor with its loss (Grill et al., Bootstrap Your Own Latent, NeurIPS 2020,
 * arXiv:2006.07733, Section 3.1 and Eq. 2; EasyCV LatentPredictHead): an MLP q_theta maps the
 * online projection to a prediction of the target projection; the loss is 2 - 2 cos(q(z), z').
 * MoBY uses the same predictor in front of its contrastive loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../core/registry';
import { slot } from '../../core/schema';
import { Module } from '../nn/module';
import type { NonLinearNeck } from '../necks/nonLinearNeck';
import { buildLoss, lossSlot, type Losses } from '../losses/lossSlot';

export const latentPredictHeadParams = z.strictObject({
  predictor: slot('neck', 'The predictor MLP (BYOL: NonLinearNeckV2 with 4096 hidden); its input and output widths are those of the projection').default({ type: 'NonLinearNeckV2' }),
  in_channels: z.number().int().min(1).optional().describe('Width of the projections it predicts from (default: the projector\'s output)'),
  loss: lossSlot('prediction', 'NormalizedMSELoss'),
});

export class LatentPredictHead extends Module {
  readonly predictor: NonLinearNeck;
  private readonly lossFn: Losses['prediction'];

  constructor(
    readonly params: z.output<typeof latentPredictHeadParams>,
    ctx: BuildContext,
  ) {
    super();
    // The prediction must have the width of the projection it predicts: in and out are that width
    // whatever the predictor's own defaults say (a resolved config carries them filled in).
    const width = params.in_channels === undefined ? {} : { in_channels: params.in_channels, out_channels: params.in_channels };
    this.predictor = this.child('predictor', ctx.build<NonLinearNeck>('neck', { ...params.predictor, ...width }));
    this.lossFn = buildLoss(ctx, 'LatentPredictHead', 'prediction', params.loss);
  }

  /** The prediction `[N, D]` of the target projection from an online projection `[N, D]`. */
  predict(online: tf.Tensor2D): tf.Tensor2D {
    return this.predictor.project(online);
  }

  /** The loss of the prediction against the target (2 - 2 cos by default), mean over the batch; the target carries no gradient. */
  forward(online: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
    return this.lossFn(this.predict(online), target);
  }
}

register('head', {
  type: 'LatentPredictHead',
  description: 'Predictor MLP and a loss between its prediction and the target projection (normalised MSE by default: BYOL)',
  paper: 'Grill et al., Bootstrap Your Own Latent (BYOL), NeurIPS 2020, arXiv:2006.07733, Eq. 2',
  params: latentPredictHeadParams,
  build: (p, ctx) => new LatentPredictHead(p, ctx),
});
