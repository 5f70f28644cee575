/**
 * EncoderDecoder (mmsegmentation's segmentor): a backbone, an optional neck, a decode head and an
 * optional auxiliary head (deep supervision on an earlier stage, added to the loss with its
 * loss's `loss_weight`, 0.4 usually). Each head's logits are resized (bilinear, half-pixel) to the
 * label size for its loss and to the input size for inference.
 *
 * Inference is `whole` (the image in one pass) or `slide`: crops of `crop_size` every `stride`
 * pixels whose logits are summed and divided by the number of crops covering each pixel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import { UserError } from '../../../core/problems';
import { Module } from '../../nn/module';
import { globalAvgPool } from '../../nn/layers';
import { checkInputChannels, type Backbone, type Neck } from '../../backbones/types';
import type { DecodeHead } from '../../heads/segmentation/decodeHead';
import { resizeTo } from '../../heads/segmentation/decodeHead';
import type { Algorithm, DataInfo, StepOutput, TensorBatch } from '../types';

const pairParam = z.tuple([z.number().int().min(1), z.number().int().min(1)]);

export const encoderDecoderParams = z.strictObject({
  backbone: slot('backbone', 'Feature extractor (ResNet with output_stride 8 or 16, ...) returning the maps the heads read (out_indices)'),
  neck: slot('neck', 'Optional neck between backbone and heads').optional(),
  decode_head: slot('head', 'Segmentation head (FCNHead)'),
  auxiliary_head: slot('head', 'Optional auxiliary head trained on an earlier feature (FCNHead with in_index 2, loss_weight 0.4)').optional(),
  test_mode: z.enum(['whole', 'slide']).default('whole').describe('Inference on the whole image at once, or on sliding crops whose logits are averaged'),
  crop_size: pairParam.optional().describe('slide: crop [height, width]'),
  stride: pairParam.optional().describe('slide: step between crops [height, width]'),
});

export type EncoderDecoderParams = z.output<typeof encoderDecoderParams>;

/** Start offsets of crops of `crop` every `stride` covering `size` (the last one flush with the end). */
export function slideStarts(size: number, crop: number, stride: number): number[] {
  const n = Math.max(size - crop + stride - 1, 0);
  const count = Math.floor(n / stride) + 1;
  return Array.from({ length: count }, (_, i) => Math.max(Math.min(i * stride + crop, size) - crop, 0));
}

export class EncoderDecoder extends Module implements Algorithm {
  readonly backbone: Backbone;
  readonly neck?: Neck;
  readonly decodeHead: DecodeHead;
  readonly auxiliaryHead?: DecodeHead;
  readonly exportTask = 'segmentation' as const;

  constructor(
    readonly params: EncoderDecoderParams,
    ctx: BuildContext,
  ) {
    super();
    if (params.test_mode === 'slide' && (!params.crop_size || !params.stride)) throw new UserError('EncoderDecoder: test_mode slide needs crop_size and stride ([height, width])');
    this.backbone = this.child('backbone', ctx.build<Backbone>('backbone', params.backbone));
    if (params.neck) this.neck = this.child('neck', ctx.build<Neck>('neck', params.neck, { in_channels: this.backbone.outChannels }));
    const channels = { in_channels: (this.neck ?? this.backbone).outChannels };
    this.decodeHead = this.child('decode_head', ctx.build<DecodeHead>('head', params.decode_head, channels));
    if (typeof (this.decodeHead as Partial<DecodeHead>).loss !== 'function' || !(this.decodeHead as Partial<DecodeHead>).convSeg) throw new UserError('EncoderDecoder: model.decode_head must be a segmentation head (FCNHead)');
    if (params.auxiliary_head) this.auxiliaryHead = this.child('auxiliary_head', ctx.build<DecodeHead>('head', params.auxiliary_head, channels));
  }

  private features(images: tf.Tensor4D): tf.Tensor4D[] {
    const f = this.backbone.forward(images);
    // Pooled features ([batch, channels]) would reach the heads, which fail with a shape error of their own.
    const pooled = f.find((t) => t.rank !== 4);
    if (pooled) {
      const type = String((this.params.backbone as { type?: unknown }).type);
      const hint = type === 'ConvNeXt' ? ': set model.backbone.gap_before_final_norm: false' : '; use a convolutional backbone (ResNet, MobileNetV2, ConvNeXt, SwinTransformer)';
      throw new UserError(`model.backbone (${type}) returns pooled features [${pooled.shape.join(', ')}], and a segmentation head needs feature maps${hint}`);
    }
    return (this.neck ? this.neck.forward(f) : f) as tf.Tensor4D[];
  }

  /** Labels `[n, h, w]` int32 of a batch, checked against the number of classes. */
  private labels(batch: TensorBatch): tf.Tensor3D {
    const masks = batch.raw.masks;
    if (!masks) throw new UserError('EncoderDecoder needs masks: train it on a segmentation dataset (SegDataset with a SegFolder or VOCSegmentation source)');
    const k = this.decodeHead.numClasses;
    const ignore = Number((this.params.decode_head.loss as { ignore_index?: number } | undefined)?.ignore_index ?? 255);
    for (let i = 0; i < masks.data.length; i++) {
      const v = masks.data[i];
      if (v >= k && v !== ignore) throw new UserError(`a mask of this batch has the value ${v}, but the head predicts ${k} classes (0 to ${k - 1}) and ignores ${ignore}: set model.decode_head.num_classes or the loss's ignore_index`);
    }
    return tf.tensor3d(Int32Array.from(masks.data), masks.shape, 'int32');
  }

  trainStep(batch: TensorBatch): StepOutput {
    const labels = this.labels(batch);
    const f = this.features(batch.views[0]);
    const lossDecode = this.decodeHead.loss(this.decodeHead.forward(f), labels);
    const logs: Record<string, tf.Scalar> = { loss_decode: lossDecode };
    let loss = lossDecode;
    if (this.auxiliaryHead) {
      const aux = this.auxiliaryHead.loss(this.auxiliaryHead.forward(f), labels);
      logs.loss_aux = aux;
      loss = tf.add(loss, aux);
    }
    return { loss, logs };
  }

  /** Logits at the images' size, `[n, h, w, num_classes]` (eval mode). */
  segment(images: tf.Tensor4D): tf.Tensor4D {
    if (this.params.test_mode === 'slide') return this.slide(images);
    return tf.tidy(() => resizeTo(this.decodeHead.forward(this.features(images)), images.shape[1], images.shape[2]));
  }

  private slide(images: tf.Tensor4D): tf.Tensor4D {
    const [n, H, W, C] = images.shape;
    const [ch, cw] = this.params.crop_size!;
    const [sh, sw] = this.params.stride!;
    return tf.tidy(() => {
      const k = this.decodeHead.numClasses;
      let sum: tf.Tensor4D = tf.zeros([n, H, W, k]);
      const count = new Float32Array(H * W);
      for (const y of slideStarts(H, ch, sh)) {
        for (const x of slideStarts(W, cw, sw)) {
          const h = Math.min(ch, H - y);
          const w = Math.min(cw, W - x);
          const crop = tf.slice(images, [0, y, x, 0], [n, h, w, C]);
          const logits = resizeTo(this.decodeHead.forward(this.features(crop)), h, w);
          sum = tf.add(sum, tf.pad(logits, [[0, 0], [y, H - y - h], [x, W - x - w], [0, 0]]));
          for (let r = y; r < y + h; r++) for (let c = x; c < x + w; c++) count[r * W + c] += 1;
        }
      }
      return tf.div(sum, tf.tensor4d(count, [1, H, W, 1]));
    });
  }

  /** What an export computes: `logits` `[batch, h, w, classes]` at the input size and the argmax `mask` `[batch, h, w]`. */
  exportOutputs(images: tf.Tensor4D): Record<string, tf.Tensor> {
    const logits = this.segment(images);
    return { logits, mask: tf.cast(tf.argMax(logits, 3), 'int32') };
  }

  extract(images: tf.Tensor4D): tf.Tensor2D {
    const f = this.backbone.forward(images);
    return globalAvgPool(f[f.length - 1] as tf.Tensor4D);
  }

  checkData(info: DataInfo): void {
    checkInputChannels(this.backbone, info.channels);
    const k = this.decodeHead.numClasses;
    if (info.numClasses !== undefined && info.numClasses !== k) {
      throw new UserError(`model.decode_head.num_classes is ${k} but the training data has ${info.numClasses} classes: set model.decode_head.num_classes: ${info.numClasses}`);
    }
  }
}

register('model', {
  type: 'EncoderDecoder',
  description: 'Semantic segmentation: backbone, optional neck, decode head and optional auxiliary head, per-pixel loss',
  paper: 'mmsegmentation EncoderDecoder; Long et al., Fully Convolutional Networks for Semantic Segmentation, CVPR 2015',
  params: encoderDecoderParams,
  build: (p, ctx) => new EncoderDecoder(p, ctx),
});

// The task's name, as Classification is, for `cvw init Segmentation` and `--model-type Segmentation`.
register('model', {
  type: 'Segmentation',
  description: 'Semantic segmentation (the EncoderDecoder segmentor under the task\'s name)',
  paper: 'mmsegmentation EncoderDecoder; EasyCV segmentation',
  params: encoderDecoderParams,
  build: (p, ctx) => new EncoderDecoder(p, ctx),
});
