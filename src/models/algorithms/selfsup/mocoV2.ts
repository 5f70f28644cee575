/**
 * MoCo v2 (Chen et al., Improved Baselines with Momentum Contrastive Learning, arXiv:2003.04297;
 * MoCo: He et al., Momentum Contrast for Unsupervised Visual Representation Learning, CVPR 2020,
 * arXiv:1911.05722, Algorithm 1).
 *
 * A query encoder (backbone + MLP) is trained; a key encoder, its momentum copy, encodes the
 * other view. The contrastive loss (InfoNCE, temperature 0.2) classifies each query's own key
 * against a queue of keys from earlier batches (65,536 on ImageNet), which decouples the number
 * of negatives from the batch size. After each step the keys join the queue and the oldest leave.
 *
 * In a data-parallel run the keys of every rank join the queue (the reference's concat_all_gather),
 * so the queue is the same on every rank and N ranks x batch B see the negatives of one process x
 * batch N·B.
 *
 * Not done: MoCo's shuffling batch norm. With one batch-norm batch, a query and its own key are
 * normalised with the same statistics while the queued negatives were not, a signal the model can
 * learn instead of the images (MoCo, Section 3.3). The reference shuffles the keys across GPUs;
 * its one-GPU CIFAR demo and lightly's benchmark split each batch into 8 batch-norm groups to the
 * same end. Here the key encoder normalises over its rank's whole batch (or all ranks' with
 * runner.sync_bn), so small single-process runs can learn less than the reference would.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import type { Backbone } from '../../backbones/types';
import type { NonLinearNeck } from '../../necks/nonLinearNeck';
import type { ContrastiveHead } from '../../heads/contrastiveHead';
import { l2Normalize } from '../../nn/l2Normalize';
import { stopGradient } from '../../nn/stopGradient';
import { gatherRows } from '../../nn/overRanks';
import { MomentumUpdateHook } from './momentumUpdateHook';
import type { Hook } from '../../../train/hook';
import type { StepOutput, TensorBatch } from '../types';
import { SelfSupervised, lastChannels } from './base';
import { FeatureQueue } from './queue';
import { momentumScheduleParams, type MomentumEncoder } from './momentum';
import { positiveSimilarity } from './simclr';

export const mocoV2Params = z.strictObject({
  backbone: slot('backbone', 'The encoder (ResNet, ...)'),
  neck: slot('neck', 'The projection MLP (NonLinearNeckV1: fc-relu-fc)').default({ type: 'NonLinearNeckV1' }),
  head: slot('head', 'The contrastive loss (ContrastiveHead, temperature 0.2)').default({ type: 'ContrastiveHead', temperature: 0.2 }),
  queue_len: z.number().int().min(1).default(65536).describe('Keys kept as negatives (65536 on ImageNet; a few times the batch size up to ~10% of the data set for small data)'),
  momentum: momentumScheduleParams({ base: 0.999, end: 1, schedule: 'constant' }),
});

export class MoCoV2 extends SelfSupervised {
  readonly kind = 'MoCoV2';
  readonly backbone: Backbone;
  readonly neck: NonLinearNeck;
  readonly key: MomentumEncoder<Backbone, NonLinearNeck>;
  readonly head: ContrastiveHead;
  readonly queue: FeatureQueue;

  constructor(
    readonly params: z.output<typeof mocoV2Params>,
    ctx: BuildContext,
  ) {
    super();
    this.backbone = this.child('backbone', ctx.build<Backbone>('backbone', params.backbone));
    this.neck = this.child('neck', ctx.build<NonLinearNeck>('neck', params.neck, { in_channels: lastChannels(this.backbone) }));
    const online = { backbone: this.backbone, top: this.neck };
    this.key = this.momentumEncoder(ctx, { prefix: 'key', online, configs: { backbone: params.backbone, top: params.neck }, topKind: 'neck', schedule: params.momentum });
    this.head = this.child('head', ctx.build<ContrastiveHead>('head', params.head));
    this.queue = this.child('queue', new FeatureQueue(params.queue_len, lastChannels(this.neck)));
  }

  trainStep(batch: TensorBatch): StepOutput {
    this.requireViews(batch);
    const [imQ, imK] = batch.views;
    const q = l2Normalize(this.neck.project(this.backbone.forward(imQ).at(-1)!)) as tf.Tensor2D;
    const { backbone, top } = this.key.target;
    const k = stopGradient(l2Normalize(top.project(backbone.forward(imK).at(-1)!))) as tf.Tensor2D;
    const loss = this.head.queueLoss(q, k, this.queue.snapshot());
    this.queue.enqueue(gatherRows(k));
    return { loss, logs: { positive_similarity: positiveSimilarity(stopGradient(q), k) } };
  }

  hooks(): Hook[] {
    return [new MomentumUpdateHook(this.key)];
  }
}

register('model', {
  type: 'MoCoV2',
  description: 'Momentum contrast: query encoder, momentum key encoder, a queue of negatives and InfoNCE',
  paper: 'Chen et al., Improved Baselines with Momentum Contrastive Learning (MoCo v2), arXiv:2003.04297; He et al., MoCo, CVPR 2020, arXiv:1911.05722',
  params: mocoV2Params,
  build: (p, ctx) => new MoCoV2(p, ctx),
});
