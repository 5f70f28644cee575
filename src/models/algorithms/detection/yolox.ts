/**
 * YOLOX (Ge et al., YOLOX: Exceeding YOLO Series in 2021, arXiv:2107.08430): an anchor-free
 * one-stage detector — CSPDarknet backbone, PAFPN neck, decoupled head, SimOTA assignment —
 * trained with Mosaic and MixUp (the data pipeline's steps), multi-scale inputs and an EMA of
 * the weights (EMAHook), and post-processed with non-maximum suppression.
 *
 * `size` (nano, tiny, s, m, l, x) sets the depth and width of the backbone, neck and head unless
 * they say otherwise. Multi-scale training resizes each batch to a random multiple of 32 within
 * `multiscale` (the reference changes the size every 10 iterations, by default over
 * input +-5 x 32 px).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import { UserError } from '../../../core/problems';
import { randomFor } from '../../../core/random';
import { Module } from '../../nn/module';
import { globalAvgPool } from '../../nn/layers';
import { YOLOX_SIZE_NAMES } from '../../backbones/cspDarknet';
import { checkInputChannels, type Backbone, type Neck } from '../../backbones/types';
import type { YOLOXHead } from '../../heads/yoloxHead';
import type { Algorithm, DataInfo, ImageDetections, StepOutput, TensorBatch, TrainProgress } from '../types';
import type { GtBox } from './simota';
import { postprocess } from './postprocess';

/** The most ground-truth boxes per image that `max_labels` may ask SimOTA to assign (the reference's 120, with room). */
const MAX_LABELS_LIMIT = 4096;

export const yoloxParams = z.strictObject({
  size: z.enum(YOLOX_SIZE_NAMES).default('s').describe('Model size: nano (0.9M parameters at 80 classes), tiny (5.1M), s (9.0M), m, l, x'),
  backbone: slot('backbone', 'Backbone returning three maps at strides 8, 16, 32 (CSPDarknet)').default({ type: 'CSPDarknet' }),
  neck: slot('neck', 'Neck fusing the three maps (YOLOPAFPN)').default({ type: 'YOLOPAFPN' }),
  head: slot('head', 'Detection head (YOLOXHead)').default({ type: 'YOLOXHead' }),
  multiscale: z
    .tuple([z.number().int().min(32), z.number().int().min(32)])
    .optional()
    .refine((r) => !r || (r[0] <= r[1] && r[0] % 32 === 0 && r[1] % 32 === 0), { message: 'expected [min, max] multiples of 32 with min <= max' })
    .describe('Multi-scale training: each batch resized to a random multiple of 32 in [min, max] pixels (square); unset = the pipeline\'s size'),
  multiscale_interval: z.number().int().min(1).default(10).describe('Iterations between size changes'),
  l1_from_epoch: z.number().int().min(0).optional().describe('0-based epoch from which the L1 loss on raw box outputs is added (the reference: when Mosaic stops, 15 epochs before the end)'),
  min_box_size: z.number().min(0).default(1).describe('Ground-truth boxes with a side of this many pixels or less are ignored in training (the reference drops <= 1 px)'),
  max_labels: z
    .number()
    .int()
    .min(1)
    .max(MAX_LABELS_LIMIT)
    .default(120)
    .describe(`Ground-truth boxes per image that training assigns, the first ones after min_box_size (the reference pads Mosaic's targets to 120 and drops the rest); at most ${MAX_LABELS_LIMIT}, since SimOTA's cost is boxes x anchors`),
  test_conf: z.number().min(0).max(1).default(0.01).describe('Score threshold (objectness x class probability) of detections'),
  nms_thr: z.number().min(0).max(1).default(0.65).describe('IoU threshold of non-maximum suppression'),
  max_per_img: z.number().int().min(1).default(100).describe('Detections kept per image (COCO evaluation counts at most 100)'),
  class_agnostic_nms: z.boolean().default(false).describe('Suppress overlapping boxes across classes, not only within each class'),
});

export type YoloxParams = z.output<typeof yoloxParams>;

/**
 * Ground truths of a batch as SimOTA takes them (centre form), scaled by `scale`, filtered by
 * size and cut at `maxLabels` per image: one COCO image can list 200,000 boxes, and SimOTA holds
 * a boxes x anchors cost (8,400 anchors at 640 px).
 */
export function batchTargets(boxes: Array<Array<{ bbox: number[]; label: number }>> | undefined, n: number, scale: number, minSize: number, maxLabels = Infinity): GtBox[][] {
  const out: GtBox[][] = [];
  for (let b = 0; b < n; b++) {
    const list: GtBox[] = [];
    for (const box of boxes?.[b] ?? []) {
      if (list.length >= maxLabels) break;
      const [x, y, w, h] = box.bbox.map((v) => v * scale);
      if (w <= minSize || h <= minSize) continue;
      list.push({ cx: x + w / 2, cy: y + h / 2, w, h, label: box.label });
    }
    out.push(list);
  }
  return out;
}

export class YOLOX extends Module implements Algorithm {
  readonly backbone: Backbone;
  readonly neck: Neck;
  readonly head: YOLOXHead;
  readonly exportTask = 'detection' as const;

  constructor(
    readonly params: YoloxParams,
    ctx: BuildContext,
  ) {
    super();
    const arch = { arch: params.size };
    this.backbone = this.child('backbone', ctx.build<Backbone>('backbone', params.backbone, arch));
    this.neck = this.child('neck', ctx.build<Neck>('neck', params.neck, { ...arch, in_channels: this.backbone.outChannels }));
    this.head = this.child('head', ctx.build<YOLOXHead>('head', params.head, { ...arch, in_channels: this.neck.outChannels }));
    if (typeof (this.head as Partial<YOLOXHead>).loss !== 'function') throw new UserError('YOLOX: model.head must be a detection head (YOLOXHead)');
  }

  private raw(images: tf.Tensor4D) {
    return this.head.forward(this.neck.forward(this.backbone.forward(images)));
  }

  /** The input size of iteration `iter` under multi-scale training (fixed within each interval). */
  scaleAt(iter: number, base: number): number {
    const range = this.params.multiscale;
    if (!range) return base;
    const steps = (range[1] - range[0]) / 32;
    const block = Math.floor(iter / this.params.multiscale_interval);
    return range[0] + 32 * randomFor(0x7010c5, block).int(steps + 1);
  }

  trainStep(batch: TensorBatch, progress: TrainProgress): StepOutput {
    let images = batch.views[0];
    const [n, h, w] = images.shape;
    if (!batch.raw.boxes) throw new UserError('YOLOX needs boxes: train it on a detection dataset (DetDataset with a COCO source)');
    let scale = 1;
    if (this.params.multiscale) {
      if (h !== w) throw new UserError(`YOLOX multi-scale training needs square inputs, got ${w}x${h}: end the pipeline with a square size or unset model.multiscale`);
      const size = this.scaleAt(progress.iter, h);
      if (size !== h) {
        scale = size / h;
        images = tf.image.resizeBilinear(images, [size, size], false, true);
      }
    }
    this.head.useL1 = this.params.l1_from_epoch !== undefined && progress.epoch >= this.params.l1_from_epoch;
    const gts = batchTargets(batch.raw.boxes, n, scale, this.params.min_box_size, this.params.max_labels);
    const out = this.head.loss(this.raw(images), gts);
    return { loss: out.loss, logs: { ...out.logs, input_size: tf.scalar(images.shape[1]) } };
  }

  /** Decoded predictions `[batch, anchors, 4 + 1 + C]`: (cx, cy, w, h), objectness, class probabilities. */
  decoded(images: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => this.head.decode(this.raw(images)));
  }

  detect(images: tf.Tensor4D): ImageDetections[] {
    const decoded = this.decoded(images);
    const data = decoded.dataSync();
    const [n, A, D] = decoded.shape;
    decoded.dispose();
    const options = { scoreThreshold: this.params.test_conf, nmsThreshold: this.params.nms_thr, maxDetections: this.params.max_per_img, classAgnostic: this.params.class_agnostic_nms };
    return Array.from({ length: n }, (_, b) => postprocess(data.subarray(b * A * D, (b + 1) * A * D), A, D - 5, options));
  }

  /**
   * What an export computes: `boxes` `[batch, anchors, 4]` as (x1, y1, x2, y2) in input pixels
   * and `scores` `[batch, anchors, classes]` = objectness x class probability. Thresholds and
   * NMS follow outside the graph (the Detector predictor), or as ONNX NonMaxSuppression when the
   * export asks for it.
   */
  exportOutputs(images: tf.Tensor4D): Record<string, tf.Tensor> {
    const decoded = this.decoded(images);
    return tf.tidy(() => {
      const xy = tf.slice(decoded, [0, 0, 0], [-1, -1, 2]);
      const half = tf.mul(tf.slice(decoded, [0, 0, 2], [-1, -1, 2]), 0.5);
      const boxes = tf.concat([tf.sub(xy, half), tf.add(xy, half)], 2);
      const scores = tf.mul(tf.slice(decoded, [0, 0, 5], [-1, -1, -1]), tf.slice(decoded, [0, 0, 4], [-1, -1, 1]));
      return { boxes, scores };
    });
  }

  extract(images: tf.Tensor4D): tf.Tensor2D {
    const f = this.backbone.forward(images);
    return globalAvgPool(f[f.length - 1] as tf.Tensor4D);
  }

  checkData(info: DataInfo): void {
    checkInputChannels(this.backbone, info.channels);
    if (info.numClasses !== undefined && info.numClasses !== this.head.numClasses) {
      throw new UserError(`model.head.num_classes is ${this.head.numClasses} but the training data has ${info.numClasses} categories: set model.head.num_classes: ${info.numClasses}`);
    }
  }
}

register('model', {
  type: 'YOLOX',
  description: 'YOLOX anchor-free detector: CSPDarknet, PAFPN, decoupled head, SimOTA; sizes nano to x',
  paper: 'Ge et al., YOLOX: Exceeding YOLO Series in 2021, arXiv:2107.08430',
  params: yoloxParams,
  build: (p, ctx) => new YOLOX(p, ctx),
});
