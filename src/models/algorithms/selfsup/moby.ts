/**
 * MoBY (Xie et al., Self-Supervised Learning with Swin Transformers, 2021, arXiv:2105.04553): MoCo
 * v2 and BYOL combined, for transformer backbones.
 *
 * From BYOL: an online encoder with projector and predictor, a target encoder with projector that
 * follows it by momentum (0.99 rising to 1 along a cosine), and a symmetric loss over the two
 * views. From MoCo: the loss is contrastive (InfoNCE, temperature 0.2) against two queues of
 * target keys, one per view (view 1's keys are negatives for view 2's queries and vice versa).
 * The target encoder runs without stochastic depth while the online one keeps it ("asymmetric
 * drop path", Section 3: 0.1-0.2 online, 0 target).
 *
 * Works with SwinTransformer (the paper) or VisionTransformer backbones; the backbone config must
 * accept `drop_path_rate`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import type { Backbone } from '../../backbones/types';
import type { NonLinearNeck } from '../../necks/nonLinearNeck';
import type { ContrastiveHead } from '../../heads/contrastiveHead';
import type { LatentPredictHead } from '../../heads/latentPredictHead';
import { l2Normalize } from '../../nn/l2Normalize';
import { stopGradient } from '../../nn/stopGradient';
import { gatherRows } from '../../nn/overRanks';
import { MomentumUpdateHook } from './momentumUpdateHook';
import type { Hook } from '../../../train/hook';
import type { StepOutput, TensorBatch } from '../types';
import { SelfSupervised, lastChannels } from './base';
import { FeatureQueue } from './queue';
import { momentumScheduleParams, type MomentumEncoder } from './momentum';

export const mobyParams = z.strictObject({
  backbone: slot('backbone', 'The encoder: SwinTransformer (tiny in the paper) or VisionTransformer'),
  neck: slot('neck', 'The projector (NonLinearNeckV2; 4096 hidden, 256 out in the paper)').default({ type: 'NonLinearNeckV2' }),
  predictor: slot('head', 'The predictor (LatentPredictHead; its MLP maps projections to predictions)').default({ type: 'LatentPredictHead' }),
  head: slot('head', 'The contrastive loss (ContrastiveHead, temperature 0.2)').default({ type: 'ContrastiveHead', temperature: 0.2 }),
  queue_len: z.number().int().min(1).default(4096).describe('Keys per queue (4096 in the paper; two queues)'),
  target_drop_path_rate: z.number().min(0).max(1).default(0).describe('Stochastic depth of the target encoder (0: the asymmetric drop path of the paper; the online rate is the backbone\'s drop_path_rate)'),
  momentum: momentumScheduleParams({ base: 0.99, end: 1, schedule: 'cosine' }),
});

export class MoBY extends SelfSupervised {
  readonly kind = 'MoBY';
  readonly backbone: Backbone;
  readonly neck: NonLinearNeck;
  readonly predictor: LatentPredictHead;
  readonly head: ContrastiveHead;
  readonly target: MomentumEncoder<Backbone, NonLinearNeck>;
  readonly queue1: FeatureQueue;
  readonly queue2: FeatureQueue;

  constructor(
    readonly params: z.output<typeof mobyParams>,
    ctx: BuildContext,
  ) {
    super();
    this.backbone = this.child('backbone', ctx.build<Backbone>('backbone', params.backbone));
    this.neck = this.child('neck', ctx.build<NonLinearNeck>('neck', params.neck, { in_channels: lastChannels(this.backbone) }));
    this.predictor = this.child('predictor', ctx.build<LatentPredictHead>('head', params.predictor, { in_channels: lastChannels(this.neck) }));
    this.head = this.child('head', ctx.build<ContrastiveHead>('head', params.head));
    // moby.py moves the key encoder at the start of step k with the momentum of k (its counter
    // counts the no-op update before the first step): after step k here, the momentum of k + 1.
    const online = { backbone: this.backbone, top: this.neck };
    this.target = this.momentumEncoder(ctx, { prefix: 'target', online, configs: { backbone: params.backbone, top: params.neck }, topKind: 'neck', schedule: params.momentum, dropPathRate: params.target_drop_path_rate, offset: 1 });
    const dim = lastChannels(this.neck);
    this.queue1 = this.child('queue1', new FeatureQueue(params.queue_len, dim));
    this.queue2 = this.child('queue2', new FeatureQueue(params.queue_len, dim));
  }

  trainStep(batch: TensorBatch): StepOutput {
    this.requireViews(batch);
    // Each view is its own forward pass (the authors' moby.py), so the batch norms of the
    // projector and predictor normalise over one view's batch, as in BYOL.
    const [a, b] = batch.views;
    const query = (x: tf.Tensor4D) => l2Normalize(this.predictor.predict(this.neck.project(this.backbone.forward(x).at(-1)!))) as tf.Tensor2D;
    const { backbone, top } = this.target.target;
    const key = (x: tf.Tensor4D) => stopGradient(l2Normalize(top.project(backbone.forward(x).at(-1)!))) as tf.Tensor2D;
    const [q1, q2] = [query(a), query(b)];
    const [k1, k2] = [key(a), key(b)];
    const loss = tf.add(this.head.queueLoss(q1, k2, this.queue2.snapshot()), this.head.queueLoss(q2, k1, this.queue1.snapshot())) as tf.Scalar;
    this.queue1.enqueue(gatherRows(k1));
    this.queue2.enqueue(gatherRows(k2));
    return { loss };
  }

  hooks(): Hook[] {
    return [new MomentumUpdateHook(this.target)];
  }
}

register('model', {
  type: 'MoBY',
  description: 'MoCo v2 + BYOL for transformers: predictor, momentum target, two queues, asymmetric drop path',
  paper: 'Xie et al., Self-Supervised Learning with Swin Transformers (MoBY), arXiv:2105.04553',
  params: mobyParams,
  build: (p, ctx) => new MoBY(p, ctx),
});
