/**
 * What segmentation decode heads share (mmsegmentation's BaseDecodeHead): which backbone
 * feature(s) they read (`in_index`), channel dropout before the 1x1 classifier (`conv_seg`), and
 * a `loss:` slot scoring logits resized (bilinear, half-pixel) to the label size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import { UserError } from '../../../core/problems';
import { Module } from '../../nn/module';
import { Conv2d } from '../../nn/layers';
import { stepRandom } from '../../nn/stepRandom';
import * as init from '../../nn/init';
import { buildLoss, type Losses } from '../../losses/lossSlot';

export const decodeHeadParams = {
  num_classes: z.number().int().min(1).optional().describe('Classes predicted per pixel, background included (default: the classes of the training data)'),
  in_channels: z
    .union([z.number().int().min(1), z.array(z.number().int().min(1))])
    .optional()
    .describe('Channels of the backbone features (default: taken from the backbone; a list is indexed by in_index)'),
  in_index: z.number().int().default(-1).describe('Which backbone output the head reads (-1: the last)'),
  channels: z.number().int().min(1).default(128).describe('Channels of the head\'s convolutions'),
  dropout_ratio: z.number().min(0).max(1).default(0.1).describe('Channel dropout (Dropout2d) before the classifier'),
  loss: slot('loss', 'Per-pixel loss (PixelCrossEntropyLoss: ignore_index, class_weight, loss_weight)').default({ type: 'PixelCrossEntropyLoss' }),
};

export interface DecodeHeadParams {
  num_classes?: number;
  in_channels?: number | number[];
  in_index: number;
  channels: number;
  dropout_ratio: number;
  loss: { type: string } & Record<string, unknown>;
}

/** Resize NHWC maps as PyTorch's `F.interpolate(mode='bilinear', align_corners=False)`. */
export function resizeTo(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  if (x.shape[1] === h && x.shape[2] === w) return x;
  return tf.image.resizeBilinear(x, [h, w], false, true);
}

/** Python-style index into a list (-1: the last). */
export function pick<T>(list: T[], index: number, what: string): T {
  const i = index < 0 ? list.length + index : index;
  if (i < 0 || i >= list.length) throw new UserError(`${what}: in_index ${index} is out of range: the backbone returns ${list.length} feature map(s) (set its out_indices)`);
  return list[i];
}

export abstract class DecodeHead extends Module {
  readonly numClasses: number;
  readonly convSeg: Conv2d;
  readonly lossFn: Losses['pixels'];

  constructor(
    readonly params: DecodeHeadParams,
    ctx: BuildContext,
    name: string,
  ) {
    super();
    if (!params.num_classes) throw new UserError(`${name}: num_classes is not set and the training data has no class list; set it (background included)`);
    this.numClasses = params.num_classes;
    this.convSeg = this.child('conv_seg', new Conv2d(params.channels, params.num_classes, 1, { bias: true }));
    // mmsegmentation starts the classifier at normal(0, 0.01): near-uniform logits, a first loss of ln K.
    tf.tidy(() => this.convSeg.weight.assign(init.normal(this.convSeg.weight.shape, 0.01)));
    this.lossFn = buildLoss(ctx, name, 'pixels', params.loss);
  }

  /** Channels of backbone output `index` (the list given by the algorithm, or a number). */
  protected inChannelsAt(index: number, name: string): number {
    const c = this.params.in_channels;
    if (c === undefined) throw new UserError(`${name}: in_channels is unknown; set it or use a backbone that reports its channels`);
    return typeof c === 'number' ? c : pick(c, index, name);
  }

  /** Features at the head's own resolution, `[n, h, w, channels]`. */
  protected abstract features(inputs: tf.Tensor4D[]): tf.Tensor4D;

  /** Class logits at the feature resolution, `[n, h, w, num_classes]`. */
  forward(inputs: tf.Tensor4D[]): tf.Tensor4D {
    let x = this.features(inputs);
    const rate = this.params.dropout_ratio;
    if (this.training && rate > 0) x = tf.dropout(x, rate, [x.shape[0], 1, 1, x.shape[3]], stepRandom().nextUint32()) as tf.Tensor4D;
    return this.convSeg.forward(x);
  }

  /** The configured loss of `logits` resized to the labels' size. */
  loss(logits: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
    return this.lossFn(resizeTo(logits, labels.shape[1], labels.shape[2]), labels);
  }
}
