/** Supervised classification: backbone, optional neck, classification head (EasyCV's Classification). */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../core/registry';
import { slot } from '../../core/schema';
import { UserError } from '../../core/problems';
import { Module } from '../nn/module';
import { globalAvgPool } from '../nn/layers';
import { checkInputChannels, type Backbone, type Neck } from '../backbones/types';
import type { ClsHead } from '../heads/clsHead';
import type { Algorithm, DataInfo, StepOutput, TensorBatch } from './types';
import type { Hook } from '../../train/hook';
import { PretrainedHook } from '../../weights/pretrainedHook';
import { stepRandom } from '../nn/stepRandom';
import { batchMixingParams, mixBatch } from './batchMixing';
import { jensenShannon, jsdParams } from './jsdConsistency';

export const classificationParams = z.strictObject({
  backbone: slot('backbone', 'Feature extractor (ResNet, MobileNetV2, VisionTransformer, ...)'),
  neck: slot('neck', 'Optional neck between backbone and head').optional(),
  head: slot('head', 'Classification head (ClsHead)'),
  pretrained: z.string().optional().describe('Backbone weights to start from: a checkpoint or run directory of this toolkit (e.g. a self-supervised run), or torchvision/timm weights (.safetensors, .pth) for ResNet, MobileNetV2, VisionTransformer and SwinTransformer (also the timm and official Swin names), or a YOLOX checkpoint for CSPDarknet; the run log lists what loaded, and a file that does not fit stops the run at this key'),
  pretrained_key: z
    .string()
    .optional()
    .describe("Where in a foreign pretrained file the backbone is: a nested dict or name prefix, dotted (encoder_q or state_dict.module.encoder_q of a MoCo checkpoint, teacher.backbone of DINO's), as `cvw weights convert --key`"),
  freeze_backbone: z.boolean().default(false).describe('Train only the neck and head, with the backbone in eval mode (linear evaluation)'),
  mixup: batchMixingParams
    .optional()
    .describe("MixUp and CutMix of each training batch with its reverse, as timm's Mixup (`mixup: {}`: MixUp 0.8 and CutMix 1.0, half the batches each, the fine-tuning recipe of DeiT, ConvNeXt and MAE); training accuracy is then not logged"),
  jsd_loss: jsdParams
    .optional()
    .describe("AugMix's consistency loss, as timm's JsdCrossEntropy (`jsd_loss: {}`): the training data gives several views of each image (a MultiViewDataset: the clean view first, then AugMix views of the same crop), cross-entropy is taken on the clean one and alpha x the Jensen-Shannon divergence of all views' predictions is added"),
});

export type ClassificationParams = z.output<typeof classificationParams>;

export class Classification extends Module implements Algorithm {
  readonly backbone: Backbone;
  readonly neck?: Neck;
  readonly head: ClsHead;

  constructor(
    readonly params: ClassificationParams,
    ctx: BuildContext,
  ) {
    super();
    this.backbone = this.child('backbone', ctx.build<Backbone>('backbone', params.backbone));
    if (params.neck) this.neck = this.child('neck', ctx.build<Neck>('neck', params.neck, { in_channels: this.backbone.outChannels[this.backbone.outChannels.length - 1] }));
    const channels = (this.neck ?? this.backbone).outChannels;
    this.head = this.child('head', ctx.build<ClsHead>('head', params.head, { in_channels: channels[channels.length - 1] }));
    if (params.freeze_backbone) this.backbone.freeze();
    if (params.jsd_loss && params.mixup) throw new UserError('model.jsd_loss and model.mixup: one or the other (the consistency loss compares views of one image; mixing blends different images)');
  }

  override train(mode = true): this {
    super.train(mode);
    if (this.params.freeze_backbone) this.backbone.train(false);
    return this;
  }

  hooks(): Hook[] {
    const type = String((this.params.backbone as { type?: unknown }).type ?? '');
    return this.params.pretrained ? [new PretrainedHook(this.backbone, type, this.params.pretrained, this.params.pretrained_key)] : [];
  }

  private features(images: tf.Tensor4D): tf.Tensor[] {
    const f = this.backbone.forward(images);
    return this.neck ? this.neck.forward(f) : f;
  }

  trainStep(batch: TensorBatch): StepOutput {
    if (!batch.labels) throw new UserError('Classification needs labelled data: the training source has no labels');
    if (this.params.mixup) {
      // A mixed image has two labels: the loss weighs both (see batchMixing.ts). No accuracy is
      // logged, for the batches left unmixed either: in a data-parallel run every rank must log the same values.
      const mixed = mixBatch(batch.views[0], this.params.mixup, stepRandom());
      const logits = this.head.forward(this.features(mixed?.images ?? batch.views[0]));
      if (!mixed) return { loss: this.head.loss(logits, batch.labels), logs: {} };
      const own = tf.mul(this.head.loss(logits, batch.labels), mixed.lam);
      return { loss: tf.add(own, tf.mul(this.head.loss(logits, tf.reverse(batch.labels, 0)), 1 - mixed.lam)) as tf.Scalar, logs: {} };
    }
    if (this.params.jsd_loss) return this.jsdStep(batch, batch.labels, this.params.jsd_loss.alpha);
    const logits = this.head.forward(this.features(batch.views[0]));
    const loss = this.head.loss(logits, batch.labels);
    const correct = tf.equal(tf.argMax(logits, 1), tf.cast(batch.labels, 'int32'));
    return { loss, logs: { accuracy: tf.mean(tf.cast(correct, 'float32')) as tf.Scalar } };
  }

  /** Every view through the network in one batch (as timm's AugMix splits), the loss on the clean view plus alpha x their Jensen-Shannon divergence. */
  private jsdStep(batch: TensorBatch, labels: tf.Tensor1D, alpha: number): StepOutput {
    const views = batch.views;
    if (views.length < 2) throw new UserError('model.jsd_loss compares views of each image, but the training data gives one: use a MultiViewDataset (a clean view, then AugMix views of the same crop: shared_pipeline)');
    const size = (v: tf.Tensor4D) => v.shape.slice(1).join('x');
    const other = views.find((v) => size(v) !== size(views[0]));
    if (other) throw new UserError(`model.jsd_loss: the views of an image go through the network as one batch, but they have different sizes (${size(views[0])} and ${size(other)}): give every view the same size`);
    const logits = tf.split(this.head.forward(this.features(tf.concat(views, 0))), views.length, 0) as tf.Tensor2D[];
    const loss = tf.add(this.head.loss(logits[0], labels), tf.mul(jensenShannon(logits), alpha)) as tf.Scalar;
    const correct = tf.equal(tf.argMax(logits[0], 1), tf.cast(labels, 'int32'));
    return { loss, logs: { accuracy: tf.mean(tf.cast(correct, 'float32')) as tf.Scalar } };
  }

  predict(images: tf.Tensor4D): tf.Tensor2D {
    return this.head.forward(this.features(images));
  }

  extract(images: tf.Tensor4D): tf.Tensor2D {
    const f = this.backbone.forward(images);
    const last = f[f.length - 1];
    return (last.rank === 4 ? globalAvgPool(last as tf.Tensor4D) : last) as tf.Tensor2D;
  }

  checkData(info: DataInfo): void {
    checkInputChannels(this.backbone, info.channels);
    const k = this.head.numClasses;
    if (info.numClasses !== undefined && info.numClasses !== k) {
      throw new UserError(`model.head.num_classes is ${k} but the training data has ${info.numClasses} classes: set model.head.num_classes: ${info.numClasses}`);
    }
  }
}

register('model', {
  type: 'Classification',
  description: 'Supervised image classification: backbone, optional neck, and a classification head',
  paper: 'EasyCV Classification',
  params: classificationParams,
  build: (p, ctx) => new Classification(p, ctx),
});
