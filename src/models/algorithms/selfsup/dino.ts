/**
 * DINO (Caron et al., Emerging Properties in Self-Supervised Vision Transformers, ICCV 2021,
 * arXiv:2104.14294, Algorithm 1): self-distillation with no labels.
 *
 * A student (backbone + DINOHead) sees every crop of multi-crop (2 global, N local); a teacher,
 * its momentum copy (0.996 rising to 1 along a cosine), sees only the global crops. The student
 * matches the teacher's centred and sharpened distributions of the other crops (DINOLoss, with the
 * teacher temperature warming up). The head's last layer does not learn during the first epoch
 * (`freeze_last_layer_epochs`), and the weight decay of the paper rises from 0.04 to 0.4 along a
 * cosine: add a WeightDecayScheduleHook to the config's hooks for that. The teacher runs without
 * stochastic depth (`teacher_drop_path_rate`), and its backbone is the one evaluated, as the
 * paper reports the teacher to be better.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import { UserError } from '../../../core/problems';
import type { Backbone } from '../../backbones/types';
import type { DINOHead } from '../../heads/dinoHead';
import { dinoLossParams, type DINOLoss } from '../../losses/dinoLoss';
import { buildLoss, lossShorthand, lossSlot } from '../../losses/lossSlot';
import { MomentumUpdateHook } from './momentumUpdateHook';
import { FreezeVariablesHook } from '../freezeVariablesHook';
import type { Hook } from '../../../train/hook';
import type { StepOutput, TensorBatch, TrainProgress } from '../types';
import { SelfSupervised, forwardMultiCrop, lastChannels, pooledFeature } from './base';
import { momentumScheduleParams, type MomentumEncoder } from './momentum';

/** DINO's loss parameters, accepted at the model's level as configs wrote them before the loss slot. */
function shorthands<K extends keyof typeof dinoLossParams.shape & string>(keys: K[]) {
  return Object.fromEntries(keys.map((k) => [k, lossShorthand(dinoLossParams, k, 'DINOLoss')])) as { [k in K]: ReturnType<typeof lossShorthand<typeof dinoLossParams, k>> };
}

export const dinoParams = z.strictObject({
  backbone: slot('backbone', 'The student\'s encoder: VisionTransformer (the paper), or a ResNet'),
  head: slot('head', 'The projection head (DINOHead)').default({ type: 'DINOHead' }),
  num_global_crops: z.number().int().min(1).default(2).describe('Views at the start of each batch that are global crops (seen by the teacher); the rest are local crops'),
  teacher_drop_path_rate: z.number().min(0).max(1).default(0).describe('Stochastic depth of the teacher (0, as in the paper; ignored by backbones without drop_path_rate)'),
  loss: lossSlot('distillation', 'DINOLoss'),
  ...shorthands(['warmup_teacher_temp', 'teacher_temp', 'warmup_teacher_temp_epochs', 'student_temp', 'center_momentum']),
  freeze_last_layer_epochs: z.number().min(0).default(1).describe('Epochs at the start during which the head\'s last layer does not learn (1)'),
  momentum: momentumScheduleParams({ base: 0.996, end: 1, schedule: 'cosine' }),
  extract_from: z.enum(['teacher', 'student']).default('teacher').describe('Backbone whose features kNN, linear probes and retrieval use (the paper evaluates the teacher)'),
});

export class DINO extends SelfSupervised {
  readonly kind = 'DINO';
  readonly backbone: Backbone;
  readonly head: DINOHead;
  readonly teacher: MomentumEncoder<Backbone, DINOHead>;
  readonly loss: DINOLoss;

  constructor(
    readonly params: z.output<typeof dinoParams>,
    ctx: BuildContext,
  ) {
    super();
    this.backbone = this.child('backbone', ctx.build<Backbone>('backbone', params.backbone));
    this.head = this.child('head', ctx.build<DINOHead>('head', params.head, { in_channels: lastChannels(this.backbone) }));
    const online = { backbone: this.backbone, top: this.head };
    this.teacher = this.momentumEncoder(ctx, { prefix: 'teacher', online, configs: { backbone: params.backbone, top: params.head }, topKind: 'head', schedule: params.momentum, dropPathRate: params.teacher_drop_path_rate });
    const { warmup_teacher_temp, teacher_temp, warmup_teacher_temp_epochs, student_temp, center_momentum } = params;
    const set = { warmup_teacher_temp, teacher_temp, warmup_teacher_temp_epochs, student_temp, center_momentum };
    const outDim = this.head.params.out_channels;
    this.loss = this.child('loss', buildLoss(ctx, 'DINO', 'distillation', params.loss, set, { out_dim: outDim }));
    if (this.loss.options.outDim !== outDim) throw new UserError(`DINO: loss.out_dim is ${this.loss.options.outDim} but the head gives ${outDim} outputs; leave out_dim out`);
  }

  trainStep(batch: TensorBatch, progress: TrainProgress): StepOutput {
    const g = this.params.num_global_crops;
    this.requireViews(batch, Math.max(2, g));
    const globals = batch.views.slice(0, g);
    for (const v of globals.slice(1)) {
      if (v.shape[1] !== globals[0].shape[1] || v.shape[2] !== globals[0].shape[2]) throw new UserError(`DINO: the ${g} global crops must have the same size; check data.train.views`);
    }
    // The backbone per resolution, the head once over all crops (the authors' MultiCropWrapper):
    // a batch norm in the head (use_bn, as for ResNets) normalises over every crop.
    const t = this.teacher.target;
    const teacher = forwardMultiCrop(globals, (x) => pooledFeature(t.backbone.forward(x)), (f) => t.top.forward([f]));
    const student = forwardMultiCrop(batch.views, (x) => pooledFeature(this.backbone.forward(x)), (f) => this.head.forward([f]));
    const epoch = progress.epoch + (progress.iter - progress.epoch * progress.itersPerEpoch) / Math.max(1, progress.itersPerEpoch);
    const { loss, teacherTemp, teacherEntropy } = this.loss.forward(student, teacher, epoch);
    return { loss, logs: { teacher_temp: tf.scalar(teacherTemp), teacher_entropy: teacherEntropy } };
  }

  override featureBackbone(): Backbone {
    return this.params.extract_from === 'teacher' ? this.teacher.target.backbone : this.backbone;
  }

  hooks(): Hook[] {
    return [
      new MomentumUpdateHook(this.teacher),
      new FreezeVariablesHook(
        'DINOFreezeLastLayer',
        () => this.head.lastLayerVariables(),
        (r) => Math.round(this.params.freeze_last_layer_epochs * r.itersPerEpoch),
      ),
    ];
  }
}

register('model', {
  type: 'DINO',
  description: 'Self-distillation with no labels: student and momentum teacher on multi-crop, centring and sharpening',
  paper: 'Caron et al., Emerging Properties in Self-Supervised Vision Transformers (DINO), ICCV 2021, arXiv:2104.14294',
  params: dinoParams,
  build: (p, ctx) => new DINO(p, ctx),
});
