/**
 * BYOL (Grill et al., Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning,
 * NeurIPS 2020, arXiv:2006.07733, Section 3 and Algorithm 1).
 *
 * The online network (encoder, projector, predictor) predicts the target network's projection of
 * the other view; the target (encoder, projector) is an exponential moving average of the online
 * one, with a momentum rising from 0.996 to 1 along a cosine. The loss is symmetrised by swapping
 * the views: L = ||q(z1) - z2'||^2 + ||q(z2) - z1'||^2 on normalised vectors (Eq. 2-3). No
 * negatives: the predictor and the slowly moving target prevent collapse.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import type { Backbone } from '../../backbones/types';
import type { NonLinearNeck } from '../../necks/nonLinearNeck';
import type { LatentPredictHead } from '../../heads/latentPredictHead';
import { stopGradient } from '../../nn/stopGradient';
import { MomentumUpdateHook } from './momentumUpdateHook';
import type { Hook } from '../../../train/hook';
import type { StepOutput, TensorBatch } from '../types';
import { SelfSupervised, lastChannels } from './base';
import { momentumScheduleParams, type MomentumEncoder } from './momentum';
import { positiveSimilarity } from './simclr';

export const byolParams = z.strictObject({
  backbone: slot('backbone', 'The encoder (ResNet, ...)'),
  neck: slot('neck', 'The projector (NonLinearNeckV2: fc-bn-relu-fc, 4096 hidden, 256 out)').default({ type: 'NonLinearNeckV2' }),
  head: slot('head', 'The predictor and loss (LatentPredictHead)').default({ type: 'LatentPredictHead' }),
  momentum: momentumScheduleParams({ base: 0.996, end: 1, schedule: 'cosine' }),
});

export class BYOL extends SelfSupervised {
  readonly kind = 'BYOL';
  readonly backbone: Backbone;
  readonly neck: NonLinearNeck;
  readonly head: LatentPredictHead;
  readonly target: MomentumEncoder<Backbone, NonLinearNeck>;

  constructor(
    readonly params: z.output<typeof byolParams>,
    ctx: BuildContext,
  ) {
    super();
    this.backbone = this.child('backbone', ctx.build<Backbone>('backbone', params.backbone));
    this.neck = this.child('neck', ctx.build<NonLinearNeck>('neck', params.neck, { in_channels: lastChannels(this.backbone) }));
    this.head = this.child('head', ctx.build<LatentPredictHead>('head', params.head, { in_channels: lastChannels(this.neck) }));
    const online = { backbone: this.backbone, top: this.neck };
    this.target = this.momentumEncoder(ctx, { prefix: 'target', online, configs: { backbone: params.backbone, top: params.neck }, topKind: 'neck', schedule: params.momentum });
  }

  trainStep(batch: TensorBatch): StepOutput {
    this.requireViews(batch);
    // Each view is its own forward pass, so every batch norm (encoder, projector, predictor; online
    // and target) normalises over one view's batch, as the authors' code does (deepmind-research
    // byol_experiment.py; mmselfsup and lightly alike). One pass over both views concatenated
    // mixes the views' statistics, which the reference never does.
    const [a, b] = batch.views;
    const online = (x: tf.Tensor4D) => this.neck.project(this.backbone.forward(x).at(-1)!);
    const { backbone, top } = this.target.target;
    const target = (x: tf.Tensor4D) => stopGradient(top.project(backbone.forward(x).at(-1)!));
    const [o1, o2] = [online(a), online(b)];
    const [t1, t2] = [target(a), target(b)];
    const loss = tf.add(this.head.forward(o1, t2), this.head.forward(o2, t1)) as tf.Scalar;
    return { loss, logs: { target_similarity: positiveSimilarity(stopGradient(o1), t2) } };
  }

  hooks(): Hook[] {
    return [new MomentumUpdateHook(this.target)];
  }
}

register('model', {
  type: 'BYOL',
  description: 'Bootstrap Your Own Latent: online network with predictor regresses a momentum target network',
  paper: 'Grill et al., Bootstrap Your Own Latent (BYOL), NeurIPS 2020, arXiv:2006.07733',
  params: byolParams,
  build: (p, ctx) => new BYOL(p, ctx),
});
