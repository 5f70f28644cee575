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
 * MoCo's shuffling batch norm (Section 3.3): with one batch-norm batch, a query and its own key are
 * normalised with statistics of the same images while the queued negatives were not, a signal the
 * model can learn instead of the images. The reference normalises per GPU and shuffles the keys
 * across GPUs. `shuffle_bn_groups: g` does the same in one process, as MoCo's one-GPU demo and
 * lightly do: both encoders normalise g slices of the batch separately (batchNormGroups.ts), and
 * the keys are permuted before the key encoder and put back after, so that a key's slice holds
 * other images than its query's. Off (1) by default: the shipped configs' measurements were made
 * without it.
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
import { withBatchNormGroups } from '../../nn/batchNormGroups';
import { stepRandom } from '../../nn/stepRandom';
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
  shuffle_bn_groups: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe("Shuffling batch norm in one process: batch-norm slices per batch (8 in MoCo's one-GPU demo, batch 512); keys are shuffled across them. 1: off, one batch-norm batch"),
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
    const groups = this.params.shuffle_bn_groups;
    const q = withBatchNormGroups(groups, () => l2Normalize(this.neck.project(this.backbone.forward(imQ).at(-1)!))) as tf.Tensor2D;
    const k = stopGradient(l2Normalize(this.encodeKeys(imK))) as tf.Tensor2D;
    const loss = this.head.queueLoss(q, k, this.queue.snapshot());
    this.queue.enqueue(gatherRows(k));
    return { loss, logs: { positive_similarity: positiveSimilarity(stopGradient(q), k) } };
  }

  /** The key encoder's projections of `im`, in `im`'s order; shuffled through the batch-norm slices when there are several. */
  encodeKeys(im: tf.Tensor4D): tf.Tensor2D {
    const { backbone, top } = this.key.target;
    const groups = this.params.shuffle_bn_groups;
    const encode = (x: tf.Tensor4D) => withBatchNormGroups(groups, () => top.project(backbone.forward(x).at(-1)!) as tf.Tensor2D);
    if (groups === 1) return encode(im);
    const order = stepRandom().permutation(im.shape[0]);
    const back = new Int32Array(order.length);
    order.forEach((from, to) => (back[from] = to));
    return tf.gather(encode(tf.gather(im, order)), back);
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
