/**
 * The decoupled head of YOLOX (Ge et al., YOLOX: Exceeding YOLO Series in 2021, arXiv:2107.08430,
 * section 2.1 "Decoupled head"): per level a 1x1 stem, then two 3x3 convolutions for
 * classification and two for regression, the latter also predicting objectness. Anchor-free: each
 * output cell predicts one box as offsets of its cell (x, y) and log-sizes (w, h), in strides.
 *
 * Training losses (the reference's `get_losses`): SimOTA assigns ground truths to cells
 * (src/models/algorithms/detection/simota.ts); then, normalised by the number of foreground cells,
 * `reg_weight x IoU loss` on foreground boxes, BCE objectness on every cell, BCE classification
 * on foreground cells against the one-hot class scaled by the predicted box's IoU, and in the last
 * epochs an L1 loss on the raw box outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Module, Sequential } from '../nn/module';
import { Conv2d } from '../nn/layers';
import { BaseConv, YOLOX_SIZE_NAMES, YOLOX_SIZES, convBlock, torchDefaultInit, yoloxActParam } from '../backbones/cspDarknet';
import { iouLoss } from '../losses/iouLoss';
import { bceWithLogits } from '../losses/bceWithLogits';
import { simOta, type AnchorGrid, type GtBox } from '../algorithms/detection/simota';

export const yoloxHeadParams = z.strictObject({
  num_classes: z.number().int().min(1).optional().describe('Number of classes (default: the categories of the training data)'),
  in_channels: z.array(z.number().int().min(1)).min(1).optional().describe("Channels of the incoming maps (default: the neck's)"),
  arch: z.enum(YOLOX_SIZE_NAMES).optional().describe('YOLOX size whose width factor and depthwise choice apply (default: the YOLOX model\'s size, else s)'),
  feat_channels: z.number().int().min(1).optional().describe("Channels of the head's branches (default: 256 x the arch's width factor)"),
  depthwise: z.boolean().optional().describe("Depthwise-separable 3x3 convolutions; default: the arch's"),
  strides: z.array(z.number().int().min(1)).min(1).default([8, 16, 32]).describe('Stride of each incoming map'),
  act: yoloxActParam,
  prior_prob: z.number().gt(0).lt(1).default(0.01).describe('Initial probability of the class and objectness outputs (bias initialisation, Lin et al., Focal Loss)'),
  reg_weight: z.number().min(0).default(5).describe('Weight of the IoU loss'),
  iou_loss: z.enum(['iou', 'giou']).default('iou').describe('iou: 1 - IoU^2 (the reference); giou: 1 - GIoU'),
  center_radius: z.number().positive().default(1.5).describe('SimOTA candidate region: cells within this many strides of a box centre'),
});

export type YoloxHeadParams = z.output<typeof yoloxHeadParams>;

/** Raw head outputs of a batch, all levels concatenated: `[batch, anchors, 4 + 1 + classes]`. */
export interface HeadOutput {
  raw: tf.Tensor3D;
  /** Level sizes `[height, width]` in cells. */
  levels: Array<[number, number]>;
}

export interface DetLossOutput {
  loss: tf.Scalar;
  logs: Record<string, tf.Scalar>;
}

/** Cells of every level, in the order of the head's outputs (level by level, row-major). */
export function anchorGrid(levels: Array<[number, number]>, strides: number[]): AnchorGrid {
  const count = levels.reduce((n, [h, w]) => n + h * w, 0);
  const xs = new Float32Array(count);
  const ys = new Float32Array(count);
  const st = new Float32Array(count);
  let i = 0;
  levels.forEach(([h, w], l) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i++) {
        xs[i] = x;
        ys[i] = y;
        st[i] = strides[l];
      }
    }
  });
  return { xs, ys, strides: st, count };
}

/** Boxes `[batch, A, 4]` (cx, cy, w, h in pixels) from raw outputs: (offset + cell) x stride, exp(log-size) x stride. */
export function decodeBoxes(raw: tf.Tensor3D, grid: AnchorGrid): tf.Tensor3D {
  return tf.tidy(() => {
    const A = grid.count;
    const cells = tf.tensor3d(interleave(grid.xs, grid.ys), [1, A, 2]);
    const strides = tf.tensor3d(grid.strides, [1, A, 1]);
    const xy = tf.mul(tf.add(tf.slice(raw, [0, 0, 0], [-1, -1, 2]), cells), strides);
    const wh = tf.mul(tf.exp(tf.slice(raw, [0, 0, 2], [-1, -1, 2])), strides);
    return tf.concat([xy, wh], 2) as tf.Tensor3D;
  });
}

function interleave(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length * 2);
  for (let i = 0; i < a.length; i++) {
    out[2 * i] = a[i];
    out[2 * i + 1] = b[i];
  }
  return out;
}

/** One level's branches (the reference keeps them in parallel ModuleLists; the names match theirs). */
interface HeadLevel {
  stem: BaseConv;
  clsConvs: Sequential;
  regConvs: Sequential;
  clsPred: Conv2d;
  regPred: Conv2d;
  objPred: Conv2d;
}

export class YOLOXHead extends Module {
  readonly numClasses: number;
  readonly strides: number[];
  private readonly levels: HeadLevel[] = [];
  /** Add the L1 loss on raw box outputs (the reference turns it on with the last no-augmentation epochs). */
  useL1 = false;

  constructor(readonly params: YoloxHeadParams) {
    super();
    if (!params.in_channels) throw new UserError('YOLOXHead: in_channels is unknown; set it or use a neck that reports its channels');
    if (!params.num_classes) throw new UserError('YOLOXHead: num_classes is not set and the training data has no categories; set model.head.num_classes');
    if (params.in_channels.length !== params.strides.length) {
      throw new UserError(`YOLOXHead: ${params.in_channels.length} input maps but ${params.strides.length} strides; give one stride per map`);
    }
    this.numClasses = params.num_classes;
    this.strides = params.strides;
    const arch = YOLOX_SIZES[params.arch ?? 's'];
    const feat = params.feat_channels ?? Math.trunc(256 * arch.width);
    const depthwise = params.depthwise ?? arch.depthwise;
    const act = params.act;
    const bias = -Math.log((1 - params.prior_prob) / params.prior_prob);
    const stems = this.child('stems', new Module0());
    const clsConvs = this.child('cls_convs', new Module0());
    const regConvs = this.child('reg_convs', new Module0());
    const clsPreds = this.child('cls_preds', new Module0());
    const regPreds = this.child('reg_preds', new Module0());
    const objPreds = this.child('obj_preds', new Module0());
    params.in_channels.forEach((inC, i) => {
      const pred = (out: number, prior: boolean) => {
        const c = torchDefaultInit(new Conv2d(feat, out, 1, { padding: 0, bias: true }));
        if (prior) c.bias!.assign(tf.fill([out], bias));
        return c;
      };
      const k = String(i);
      this.levels.push({
        stem: stems.add(k, new BaseConv(inC, feat, 1, 1, act)),
        clsConvs: clsConvs.add(k, new Sequential([convBlock(feat, feat, 3, 1, act, depthwise), convBlock(feat, feat, 3, 1, act, depthwise)])),
        regConvs: regConvs.add(k, new Sequential([convBlock(feat, feat, 3, 1, act, depthwise), convBlock(feat, feat, 3, 1, act, depthwise)])),
        clsPred: clsPreds.add(k, pred(this.numClasses, true)),
        regPred: regPreds.add(k, pred(4, false)),
        objPred: objPreds.add(k, pred(1, true)),
      });
    });
  }

  /** Raw outputs: per cell (x, y, log w, log h) offsets, objectness logit, class logits. */
  forward(features: tf.Tensor[]): HeadOutput {
    if (features.length !== this.levels.length) throw new UserError(`YOLOXHead expects ${this.levels.length} feature maps, got ${features.length}`);
    const outs: tf.Tensor3D[] = [];
    const levels: Array<[number, number]> = [];
    this.levels.forEach((lv, i) => {
      const x = lv.stem.forward(features[i] as tf.Tensor4D);
      const clsFeat = lv.clsConvs.forward(x) as tf.Tensor4D;
      const regFeat = lv.regConvs.forward(x) as tf.Tensor4D;
      const out = tf.concat([lv.regPred.forward(regFeat), lv.objPred.forward(regFeat), lv.clsPred.forward(clsFeat)], 3);
      const [n, h, w, c] = out.shape;
      levels.push([h, w]);
      outs.push(tf.reshape(out, [n, h * w, c]));
    });
    return { raw: outs.length === 1 ? outs[0] : (tf.concat(outs, 1) as tf.Tensor3D), levels };
  }

  /**
   * Decoded predictions `[batch, A, 4 + 1 + C]`: box (cx, cy, w, h) in input pixels, then
   * objectness and class probabilities (the reference's inference output).
   */
  decode(out: HeadOutput): tf.Tensor3D {
    return tf.tidy(() => {
      const grid = anchorGrid(out.levels, this.strides);
      const boxes = decodeBoxes(out.raw, grid);
      const probs = tf.sigmoid(tf.slice(out.raw, [0, 0, 4], [-1, -1, -1]));
      return tf.concat([boxes, probs], 2) as tf.Tensor3D;
    });
  }

  /**
   * The YOLOX losses of a batch. `gts[b]` are the boxes of image b as (cx, cy, w, h) in input
   * pixels with class indices.
   */
  loss(out: HeadOutput, gts: GtBox[][]): DetLossOutput {
    const C = this.numClasses;
    const raw = out.raw;
    const [N, A] = raw.shape;
    const grid = anchorGrid(out.levels, this.strides);
    const boxes = decodeBoxes(raw, grid);
    // The assignment takes no gradient: read the predictions once.
    const boxData = boxes.dataSync();
    const rawData = raw.dataSync();
    const fgIndex: number[] = [];
    const regTargets: number[] = [];
    const clsTargets: number[] = [];
    const l1Targets: number[] = [];
    const objTarget = new Float32Array(N * A);
    let numGts = 0;
    for (let b = 0; b < N; b++) {
      const g = gts[b] ?? [];
      numGts += g.length;
      if (!g.length) continue;
      const cls = new Float32Array(A * C);
      const obj = new Float32Array(A);
      for (let a = 0; a < A; a++) {
        const r = (b * A + a) * (5 + C);
        obj[a] = rawData[r + 4];
        for (let c = 0; c < C; c++) cls[a * C + c] = rawData[r + 5 + c];
      }
      const assigned = simOta(g, grid, { boxes: boxData.subarray(b * A * 4, (b + 1) * A * 4), cls, obj, numClasses: C }, { centerRadius: this.params.center_radius });
      assigned.fg.forEach((a, k) => {
        const gt = g[assigned.gt[k]];
        fgIndex.push(b * A + a);
        objTarget[b * A + a] = 1;
        regTargets.push(gt.cx, gt.cy, gt.w, gt.h);
        for (let c = 0; c < C; c++) clsTargets.push(c === gt.label ? assigned.iou[k] : 0);
        if (this.useL1) {
          const s = grid.strides[a];
          l1Targets.push(gt.cx / s - grid.xs[a], gt.cy / s - grid.ys[a], Math.log(gt.w / s + 1e-8), Math.log(gt.h / s + 1e-8));
        }
      });
    }
    const numFg = fgIndex.length;
    const norm = Math.max(numFg, 1);
    const flat = tf.reshape(raw, [N * A, 5 + C]) as tf.Tensor2D;
    const lossObj = tf.div(tf.sum(bceWithLogits(tf.slice(flat, [0, 4], [-1, 1]), tf.tensor2d(objTarget, [N * A, 1]))), norm) as tf.Scalar;
    let lossIou: tf.Scalar = tf.scalar(0);
    let lossCls: tf.Scalar = tf.scalar(0);
    let lossL1: tf.Scalar = tf.scalar(0);
    if (numFg) {
      const idx = tf.tensor1d(fgIndex, 'int32');
      const fgBoxes = tf.gather(tf.reshape(boxes, [N * A, 4]), idx) as tf.Tensor2D;
      lossIou = tf.div(tf.sum(iouLoss(fgBoxes, tf.tensor2d(regTargets, [numFg, 4]), this.params.iou_loss)), norm) as tf.Scalar;
      const fgRows = tf.gather(flat, idx) as tf.Tensor2D;
      lossCls = tf.div(tf.sum(bceWithLogits(tf.slice(fgRows, [0, 5], [-1, C]), tf.tensor2d(clsTargets, [numFg, C]))), norm) as tf.Scalar;
      if (this.useL1) lossL1 = tf.div(tf.sum(tf.abs(tf.sub(tf.slice(fgRows, [0, 0], [-1, 4]), tf.tensor2d(l1Targets, [numFg, 4])))), norm) as tf.Scalar;
    }
    const weightedIou = tf.mul(lossIou, this.params.reg_weight) as tf.Scalar;
    const loss = tf.addN([weightedIou, lossObj, lossCls, lossL1]) as tf.Scalar;
    return {
      loss,
      logs: {
        iou_loss: weightedIou,
        obj_loss: lossObj,
        cls_loss: lossCls,
        l1_loss: lossL1,
        num_fg: tf.scalar(numFg / Math.max(numGts, 1)),
      },
    };
  }
}

/** A container that names its children '0', '1', ... like PyTorch's ModuleList. */
class Module0 extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.child(name, m);
  }
}

register('head', {
  type: 'YOLOXHead',
  description: 'YOLOX decoupled head: classification and regression/objectness branches per level, SimOTA assignment, IoU/objectness/class losses',
  paper: 'Ge et al., YOLOX: Exceeding YOLO Series in 2021, arXiv:2107.08430',
  params: yoloxHeadParams,
  build: (p) => new YOLOXHead(p),
});
