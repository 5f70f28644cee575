/** Linear classification head: optional global average pooling, dropout, and a fully-connected layer. */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Module } from '../nn/module';
import { Dropout, Linear, globalAvgPool } from '../nn/layers';
import { crossEntropyParams } from '../losses/crossEntropy';
import { buildLoss, lossShorthand, lossSlot, type Losses } from '../losses/lossSlot';

export const clsHeadParams = z.strictObject({
  num_classes: z.number().int().min(1).optional().describe('Number of classes (default: the classes of the training data)'),
  in_channels: z.number().int().min(1).optional().describe('Channels of the incoming features (default: taken from the backbone or neck)'),
  with_avg_pool: z.boolean().default(true).describe('Average the feature map over space before the linear layer'),
  dropout: z.number().min(0).max(1).default(0).describe('Dropout probability before the linear layer'),
  loss: lossSlot('classification', 'CrossEntropyLoss'),
  label_smoothing: lossShorthand(crossEntropyParams, 'label_smoothing', 'CrossEntropyLoss'),
});

export type ClsHeadParams = z.output<typeof clsHeadParams>;

export class ClsHead extends Module {
  readonly fc: Linear;
  readonly numClasses: number;
  private readonly dropout: Dropout;
  private readonly lossFn: Losses['classification'];

  constructor(
    readonly params: ClsHeadParams,
    ctx: BuildContext,
  ) {
    super();
    if (!params.in_channels) throw new UserError('ClsHead: in_channels is unknown; set it or use a backbone that reports its channels');
    if (!params.num_classes) throw new UserError('ClsHead: num_classes is not set and the training data has no classes; set model.head.num_classes');
    this.dropout = this.child('dropout', new Dropout(params.dropout));
    this.fc = this.child('fc', new Linear(params.in_channels, params.num_classes));
    this.numClasses = params.num_classes;
    this.lossFn = buildLoss(ctx, 'ClsHead', 'classification', params.loss, { label_smoothing: params.label_smoothing });
  }

  /** Logits `[batch, num_classes]` from the last feature (NHWC maps are pooled when with_avg_pool). */
  forward(features: tf.Tensor[]): tf.Tensor2D {
    let x = features[features.length - 1];
    if (x.rank === 4) x = this.params.with_avg_pool ? globalAvgPool(x as tf.Tensor4D) : tf.reshape(x, [x.shape[0], -1]);
    return this.fc.forward(this.dropout.forward(x)) as tf.Tensor2D;
  }

  loss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    return this.lossFn(logits, labels);
  }
}

register('head', {
  type: 'ClsHead',
  description: 'Classification head: average pooling, dropout and a linear layer, trained with its loss (cross-entropy by default)',
  paper: 'EasyCV ClsHead; label smoothing from Szegedy et al., Rethinking the Inception Architecture, CVPR 2016',
  params: clsHeadParams,
  build: (p, ctx) => new ClsHead(p, ctx),
});
