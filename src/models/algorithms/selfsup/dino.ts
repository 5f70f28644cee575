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
import { DINOLoss } from '../../losses/dinoLoss';
import { MomentumUpdateHook } from '../../../train/hooks/momentumUpdate';
import { FreezeVariablesHook } from '../../../train/hooks/freezeVariables';
import type { Hook } from '../../../train/hook';
import type { StepOutput, TensorBatch, TrainProgress } from '../types';
import { SelfSupervised, forwardMultiCrop, lastChannels, pooledFeature } from './base';
import { momentumScheduleParams, type MomentumEncoder } from './momentum';

export const dinoParams = z.strictObject({
  backbone: slot('backbone', 'The student\'s encoder: VisionTransformer (the paper), or a ResNet'),
  head: slot('head', 'The projection head (DINOHead)').default({ type: 'DINOHead' }),
  num_global_crops: z.number().int().min(1).default(2).describe('Views at the start of each batch that are global crops (seen by the teacher); the rest are local crops'),
  teacher_drop_path_rate: z.number().min(0).max(1).default(0).describe('Stochastic depth of the teacher (0, as in the paper; ignored by backbones without drop_path_rate)'),
  warmup_teacher_temp: z.number().gt(0).default(0.04).describe('Teacher temperature at the start of its warm-up (0.04)'),
  teacher_temp: z.number().gt(0).default(0.04).describe('Teacher temperature after the warm-up (0.04; up to 0.07 for long runs)'),
  warmup_teacher_temp_epochs: z.number().min(0).default(30).describe('Epochs of linear warm-up of the teacher temperature (30 in the paper; scale it down for short runs)'),
  student_temp: z.number().gt(0).default(0.1).describe('Student temperature (0.1)'),
  center_momentum: z.number().min(0).max(1).default(0.9).describe('Momentum of the running centre of the teacher outputs (0.9)'),
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
    this.loss = this.child(
      'loss',
      new DINOLoss({
        outDim: this.head.params.out_channels,
        teacherTemp: params.teacher_temp,
        warmupTeacherTemp: params.warmup_teacher_temp,
        warmupTeacherTempEpochs: params.warmup_teacher_temp_epochs,
        studentTemp: params.student_temp,
        centerMomentum: params.center_momentum,
      }),
    );
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
