/**
 * SwAV (Caron et al., Unsupervised Learning of Visual Features by Contrasting Cluster Assignments,
 * NeurIPS 2020, arXiv:2006.09882, Section 3 and Appendix A).
 *
 * Every view is encoded, projected and L2-normalised, then scored against K prototypes. For the
 * two large crops, Sinkhorn-Knopp turns the scores into balanced soft codes; every other view
 * (the other large crop and the N small ones of multi-crop) predicts them (the swapped
 * prediction). The prototypes are re-normalised before each step and held still during the first
 * epoch (`freeze_prototypes_epochs`), which the paper found helps the start. With small batches a
 * queue of earlier features (`queue_length`, from `queue_start_epoch`) joins the batch inside
 * Sinkhorn-Knopp so the equipartition spans enough samples.
 *
 * Views come from a MultiViewDataset: the large crops first, then the small ones; views of the
 * same size share one pass through the backbone, and the projection head takes all views at once.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import { UserError } from '../../../core/problems';
import type { Backbone } from '../../backbones/types';
import type { NonLinearNeck } from '../../necks/nonLinearNeck';
import type { SwAVHead } from '../../heads/swavHead';
import { l2Normalize } from '../../nn/l2Normalize';
import { stopGradient } from '../../nn/stopGradient';
import { FreezeVariablesHook } from '../freezeVariablesHook';
import { PRIORITY } from '../../../core/hookPriority';
import type { Hook } from '../../../train/hook';
import type { StepOutput, TensorBatch, TrainProgress } from '../types';
import { SelfSupervised, forwardMultiCrop, lastChannels, pooledFeature } from './base';
import { FeatureQueue } from './queue';

export const swavParams = z.strictObject({
  backbone: slot('backbone', 'The encoder (ResNet, ...)'),
  neck: slot('neck', 'The projection head (NonLinearNeckSwav)').default({ type: 'NonLinearNeckSwav' }),
  head: slot('head', 'Prototypes, Sinkhorn-Knopp and the swapped-prediction loss (SwAVHead)').default({ type: 'SwAVHead' }),
  crops_for_assign: z.array(z.number().int().min(0)).min(1).default([0, 1]).describe('Views whose codes are computed and predicted (the large crops: [0, 1])'),
  num_crops: z.array(z.number().int().min(0)).min(1).default([2, 6]).describe('Views per resolution, large first: [2, 6] is 2 x 224 + 6 x 96 in the paper; must match data.train.views'),
  queue_length: z.number().int().min(0).default(0).describe('Features kept per assigned view for Sinkhorn-Knopp (0 = no queue; 3840 in the paper for batches of 256)'),
  queue_start_epoch: z.number().int().min(0).default(15).describe('Epoch from which the queue is filled and used (15 in the paper)'),
  freeze_prototypes_epochs: z.number().min(0).default(1).describe('Epochs at the start during which the prototypes do not learn (1)'),
});

export class SwAV extends SelfSupervised {
  readonly kind = 'SwAV';
  readonly backbone: Backbone;
  readonly neck: NonLinearNeck;
  readonly head: SwAVHead;
  readonly queues: FeatureQueue[] = [];

  constructor(
    readonly params: z.output<typeof swavParams>,
    ctx: BuildContext,
  ) {
    super();
    this.backbone = this.child('backbone', ctx.build<Backbone>('backbone', params.backbone));
    this.neck = this.child('neck', ctx.build<NonLinearNeck>('neck', params.neck, { in_channels: lastChannels(this.backbone) }));
    this.head = this.child('head', ctx.build<SwAVHead>('head', params.head, { in_channels: lastChannels(this.neck) }));
    const views = params.num_crops.reduce((a, b) => a + b, 0);
    for (const c of params.crops_for_assign) {
      if (c >= views) throw new UserError(`model.crops_for_assign names view ${c}, but num_crops gives ${views} views: use views 0..${views - 1} (the large crops)`);
    }
    if (params.queue_length > 0) {
      params.crops_for_assign.forEach((_, i) => this.queues.push(this.child(`queue${i}`, new FeatureQueue(params.queue_length, lastChannels(this.neck)))));
    }
  }

  trainStep(batch: TensorBatch, progress: TrainProgress): StepOutput {
    const expected = this.params.num_crops.reduce((a, b) => a + b, 0);
    if (batch.views.length !== expected) {
      throw new UserError(`SwAV: model.num_crops [${this.params.num_crops}] means ${expected} views per image, but the batch has ${batch.views.length}: make data.train.views match`);
    }
    // The backbone per resolution, the projection head once over all views (its batch norm sees
    // every crop, as in the authors' code: facebookresearch/swav src/resnet50.py forward).
    const embeddings = forwardMultiCrop(
      batch.views,
      (x) => pooledFeature(this.backbone.forward(x)),
      (f) => l2Normalize(this.neck.project(f)) as tf.Tensor2D,
    );
    const scores = embeddings.map((e) => this.head.scores(e));
    const useQueue = this.queues.length > 0 && progress.epoch >= this.params.queue_start_epoch;
    const queueScores = useQueue ? this.queues.map((q) => (q.count() >= q.length ? this.head.scores(q.snapshot()) : undefined)) : undefined;
    const loss = this.head.loss(scores, this.params.crops_for_assign, queueScores);
    if (useQueue) this.params.crops_for_assign.forEach((c, i) => this.queues[i].enqueue(stopGradient(embeddings[c])));
    return { loss };
  }

  hooks(): Hook[] {
    const head = this.head;
    const normalize: Hook = {
      name: 'SwAVNormalizePrototypes',
      priority: PRIORITY.high,
      beforeIter: () => head.normalizePrototypes(),
    };
    const freeze = new FreezeVariablesHook(
      'SwAVFreezePrototypes',
      () => [head.prototypes.weight],
      (r) => Math.round(this.params.freeze_prototypes_epochs * r.itersPerEpoch),
    );
    return [normalize, freeze];
  }
}

register('model', {
  type: 'SwAV',
  description: 'Swapping assignments between views: online clustering onto prototypes with Sinkhorn-Knopp, multi-crop',
  paper: 'Caron et al., Unsupervised Learning of Visual Features by Contrasting Cluster Assignments (SwAV), NeurIPS 2020, arXiv:2006.09882',
  params: swavParams,
  build: (p, ctx) => new SwAV(p, ctx),
});
