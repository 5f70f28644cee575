/**
 * CSPDarknet, the backbone of YOLOX (Ge et al., YOLOX: Exceeding YOLO Series in 2021,
 * arXiv:2107.08430), built from Cross Stage Partial blocks (Wang et al., CSPNet: A New Backbone
 * that can Enhance Learning Capability of CNN, CVPRW 2020, arXiv:1911.11929) with a Focus stem and
 * a spatial pyramid pooling block (He et al., SPPNet, arXiv:1406.4729) before the last stage.
 *
 * Sizes follow the reference's depth and width factors: nano (0.33, 0.25, depthwise), tiny
 * (0.33, 0.375), s (0.33, 0.5), m (0.67, 0.75), l (1, 1), x (1.33, 1.25). Parameter names match
 * the reference module names (`dark3.1.m.0.conv1.conv.weight`) so its weights map one to one.
 * Batch norms use the reference's eps 1e-3 and momentum 0.03, and convolutions PyTorch's default
 * initialisation (YOLOX does not re-initialise them).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Layer, Module, Sequential } from '../nn/module';
import { BatchNorm, Conv2d, type Activation } from '../nn/layers';
import * as init from '../nn/init';
import type { Backbone } from './types';

/** Depth and width factors of the YOLOX sizes, and whether they use depthwise convolutions. */
export const YOLOX_SIZES = {
  nano: { depth: 0.33, width: 0.25, depthwise: true },
  tiny: { depth: 0.33, width: 0.375, depthwise: false },
  s: { depth: 0.33, width: 0.5, depthwise: false },
  m: { depth: 0.67, width: 0.75, depthwise: false },
  l: { depth: 1.0, width: 1.0, depthwise: false },
  x: { depth: 1.33, width: 1.25, depthwise: false },
} as const;

export type YoloxSize = keyof typeof YOLOX_SIZES;
export const YOLOX_SIZE_NAMES = Object.keys(YOLOX_SIZES) as [YoloxSize, ...YoloxSize[]];

export const yoloxActParam = z.enum(['silu', 'relu']).default('silu').describe('Activation of every convolution block (the reference uses SiLU)');

/**
 * PyTorch's default convolution initialisation, kaiming_uniform(a=sqrt(5)): uniform in
 * ±1/sqrt(fan_in) for weights and biases. YOLOX keeps it; the toolkit's Conv2d default (Kaiming
 * normal, fan_out) would give 1x1 prediction layers with one output a standard deviation of 1.4.
 */
export function torchDefaultInit(conv: Conv2d): Conv2d {
  const [k, , inC] = conv.weight.shape;
  const fanIn = k * k * (conv.depthwise ? 1 : inC);
  const bound = 1 / Math.sqrt(fanIn);
  tf.tidy(() => {
    conv.weight.assign(init.uniform(conv.weight.shape, bound));
    conv.bias?.assign(init.uniform(conv.bias.shape, bound));
  });
  return conv;
}

/** Conv -> BatchNorm -> activation, "same" padding (the reference's BaseConv). */
export class BaseConv extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;

  constructor(
    inC: number,
    outC: number,
    k: number,
    stride = 1,
    private readonly act: Activation = 'silu',
    depthwise = false,
  ) {
    super();
    this.conv = this.child('conv', torchDefaultInit(new Conv2d(inC, outC, k, { stride, padding: Math.floor((k - 1) / 2), groups: depthwise ? inC : 1 })));
    this.bn = this.child('bn', new BatchNorm(outC, { eps: 1e-3, momentum: 0.03 }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.bn.forwardActivated(this.conv.forward(x), this.act) as tf.Tensor4D;
  }
}

/** Depthwise k x k convolution then a pointwise 1x1 one, each with norm and activation (DWConv). */
export class DWConv extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly dconv: BaseConv;
  readonly pconv: BaseConv;

  constructor(inC: number, outC: number, k: number, stride = 1, act: Activation = 'silu') {
    super();
    this.dconv = this.child('dconv', new BaseConv(inC, inC, k, stride, act, true));
    this.pconv = this.child('pconv', new BaseConv(inC, outC, 1, 1, act));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.pconv.forward(this.dconv.forward(x));
  }
}

/** A k x k convolution block: dense (BaseConv) or depthwise-separable (DWConv, YOLOX-nano). */
export function convBlock(inC: number, outC: number, k: number, stride: number, act: Activation, depthwise: boolean): Layer<tf.Tensor4D, tf.Tensor4D> {
  return depthwise ? new DWConv(inC, outC, k, stride, act) : new BaseConv(inC, outC, k, stride, act);
}

/** 1x1 reduce then 3x3, with a residual connection when the shapes allow (Bottleneck). */
export class DarknetBottleneck extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly conv1: BaseConv;
  readonly conv2: Layer<tf.Tensor4D, tf.Tensor4D>;
  private readonly useAdd: boolean;

  constructor(inC: number, outC: number, shortcut: boolean, expansion: number, depthwise: boolean, act: Activation) {
    super();
    const hidden = Math.trunc(outC * expansion);
    this.conv1 = this.child('conv1', new BaseConv(inC, hidden, 1, 1, act));
    this.conv2 = this.child('conv2', convBlock(hidden, outC, 3, 1, act, depthwise));
    this.useAdd = shortcut && inC === outC;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.conv2.forward(this.conv1.forward(x));
    return this.useAdd ? tf.add(y, x) : y;
  }
}

/**
 * Cross Stage Partial layer (YOLOv5's C3): two 1x1 branches, bottlenecks on one, concatenated and
 * fused by a third 1x1 convolution, so half the channels skip the bottlenecks.
 */
export class CSPLayer extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly conv1: BaseConv;
  readonly conv2: BaseConv;
  readonly conv3: BaseConv;
  readonly m: Sequential;

  constructor(inC: number, outC: number, n: number, shortcut: boolean, depthwise: boolean, act: Activation, expansion = 0.5) {
    super();
    const hidden = Math.trunc(outC * expansion);
    this.conv1 = this.child('conv1', new BaseConv(inC, hidden, 1, 1, act));
    this.conv2 = this.child('conv2', new BaseConv(inC, hidden, 1, 1, act));
    this.conv3 = this.child('conv3', new BaseConv(2 * hidden, outC, 1, 1, act));
    this.m = this.child('m', new Sequential(Array.from({ length: n }, () => new DarknetBottleneck(hidden, hidden, shortcut, 1.0, depthwise, act))));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const a = this.m.forward(this.conv1.forward(x)) as tf.Tensor4D;
    const b = this.conv2.forward(x);
    return this.conv3.forward(tf.concat([a, b], 3));
  }
}

/**
 * Max-pool with a k x k window at stride 1 keeping the size (-inf padding). In training its
 * gradient routes each output's gradient to the input that won, from the argmax the forward pass
 * records (MaxPoolWithArgmax + UnsortedSegmentSum): the same gradient as tfjs' MaxPoolGrad, which
 * on the wasm backend took a third of a second for one 13x13 pool of a 4x4 map and batch 16.
 * Inference uses the plain pooling kernel (one ONNX MaxPool on export).
 */
export function maxPoolSame(x: tf.Tensor4D, k: number, training: boolean): tf.Tensor4D {
  const p = Math.floor(k / 2);
  const padded = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], -3.4e38) as tf.Tensor4D;
  if (!training) return tf.maxPool(padded, k, 1, 'valid');
  const pool = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const { result, indexes } = tf.maxPoolWithArgmax(input, k, 1, 'valid', true);
    save([indexes]);
    return {
      value: result,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.reshape(tf.unsortedSegmentSum(tf.reshape(dy, [-1]), tf.reshape(saved[0], [-1]), input.size), input.shape),
    };
  });
  return pool(padded) as tf.Tensor4D;
}

/** Spatial pyramid pooling: max-pools of 5, 9 and 13 at stride 1 beside the input, fused by 1x1 (SPPBottleneck). */
export class SPPBottleneck extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly conv1: BaseConv;
  readonly conv2: BaseConv;
  private readonly kernels: number[];

  constructor(inC: number, outC: number, act: Activation, kernels: number[] = [5, 9, 13]) {
    super();
    const hidden = Math.trunc(inC / 2);
    this.conv1 = this.child('conv1', new BaseConv(inC, hidden, 1, 1, act));
    this.kernels = kernels;
    this.conv2 = this.child('conv2', new BaseConv(hidden * (kernels.length + 1), outC, 1, 1, act));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.conv1.forward(x);
    return this.conv2.forward(tf.concat([y, ...this.kernels.map((k) => maxPoolSame(y, k, this.training))], 3));
  }
}

/**
 * Space-to-depth: every 2x2 pixel block becomes 4x the channels, in the reference's order
 * (top-left, bottom-left, top-right, bottom-right), so a 3x3 convolution sees a 6x6 input patch
 * at stride 2 without losing pixels. Built from a reshape and a transpose (both exportable).
 */
export function spaceToDepth2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h % 2 || w % 2) throw new UserError(`CSPDarknet's Focus stem needs even image sizes, got ${w}x${h}: use a multiple of 32`);
  // [n, h/2, dy, w/2, dx, c] -> [n, h/2, w/2, dx, dy, c]: channel block index dx * 2 + dy.
  const t = tf.transpose(tf.reshape(x, [n, h / 2, 2, w / 2, 2, c]), [0, 1, 3, 4, 2, 5]);
  return tf.reshape(t, [n, h / 2, w / 2, 4 * c]);
}

/** Focus stem: space-to-depth then a convolution block. */
export class Focus extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly conv: BaseConv;

  constructor(inC: number, outC: number, k: number, act: Activation) {
    super();
    this.conv = this.child('conv', new BaseConv(inC * 4, outC, k, 1, act));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.conv.forward(spaceToDepth2(x));
  }
}

export const cspDarknetParams = z.strictObject({
  arch: z.enum(YOLOX_SIZE_NAMES).optional().describe('YOLOX size: nano, tiny, s, m, l or x (depth and width factors; nano uses depthwise convolutions); default: the YOLOX model\'s size, else s'),
  deepen_factor: z.number().positive().max(16).optional().describe("Depth factor (blocks per stage; 1.33 for YOLOX-x); default: the arch's"),
  widen_factor: z.number().positive().optional().describe("Width factor (channels); default: the arch's"),
  depthwise: z.boolean().optional().describe("Depthwise-separable 3x3 convolutions; default: the arch's (true for nano)"),
  stem: z.enum(['focus', 'conv']).default('focus').describe('focus: space-to-depth then a 3x3 convolution (YOLOX); conv: one 6x6 stride-2 convolution (YOLOv5 6.0, the same receptive field)'),
  in_channels: z.number().int().min(1).default(3).describe('Channels of the input images'),
  out_indices: z.array(z.number().int().min(0).max(4)).min(1).default([2, 3, 4]).describe('Stages returned: 0 stem, 1 dark2, 2 dark3 (stride 8), 3 dark4 (16), 4 dark5 (32)'),
  act: yoloxActParam,
  frozen_stages: z.number().int().min(-1).max(4).default(-1).describe('Freeze stages up to this index (-1 = none)'),
});

export type CSPDarknetParams = z.output<typeof cspDarknetParams>;

/** The depth, width and depthwise choice of an arch, with any explicit factors applied. */
export function resolveFactors(p: { arch?: YoloxSize; deepen_factor?: number; widen_factor?: number; depthwise?: boolean }): { depth: number; width: number; depthwise: boolean } {
  const a = YOLOX_SIZES[p.arch ?? 's'];
  return { depth: p.deepen_factor ?? a.depth, width: p.widen_factor ?? a.width, depthwise: p.depthwise ?? a.depthwise };
}

export class CSPDarknet extends Module implements Backbone {
  readonly outChannels: number[];
  readonly inChannels: number;
  private readonly stages: Layer[];

  constructor(readonly params: CSPDarknetParams) {
    super();
    const { depth, width, depthwise } = resolveFactors(params);
    const act = params.act;
    const base = Math.trunc(width * 64);
    // Python's round() of the reference: halves to even (0.33 * 3 = 0.99 -> 1).
    const baseDepth = Math.max(Math.round(depth * 3), 1);
    this.inChannels = params.in_channels;
    const stem =
      params.stem === 'focus'
        ? new Focus(params.in_channels, base, 3, act)
        : new BaseConv(params.in_channels, base, 6, 2, act);
    const conv = (i: number, o: number) => convBlock(i, o, 3, 2, act, depthwise);
    this.stages = [
      this.child('stem', stem),
      this.child('dark2', new Sequential([conv(base, base * 2), new CSPLayer(base * 2, base * 2, baseDepth, true, depthwise, act)])),
      this.child('dark3', new Sequential([conv(base * 2, base * 4), new CSPLayer(base * 4, base * 4, baseDepth * 3, true, depthwise, act)])),
      this.child('dark4', new Sequential([conv(base * 4, base * 8), new CSPLayer(base * 8, base * 8, baseDepth * 3, true, depthwise, act)])),
      this.child(
        'dark5',
        new Sequential([conv(base * 8, base * 16), new SPPBottleneck(base * 16, base * 16, act), new CSPLayer(base * 16, base * 16, baseDepth, false, depthwise, act)]),
      ),
    ];
    const channels = [base, base * 2, base * 4, base * 8, base * 16];
    this.outChannels = params.out_indices.map((i) => channels[i]);
    for (let s = 0; s <= params.frozen_stages; s++) this.stages[s].freeze();
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    const outs: tf.Tensor4D[] = [];
    let y = x;
    const last = Math.max(...this.params.out_indices);
    for (let i = 0; i <= last; i++) {
      y = this.stages[i].forward(y) as tf.Tensor4D;
      if (this.params.out_indices.includes(i)) outs.push(y);
    }
    return outs;
  }

  override train(mode = true): this {
    super.train(mode);
    if (mode) for (let s = 0; s <= this.params.frozen_stages; s++) this.stages[s].train(false);
    return this;
  }
}

register('backbone', {
  type: 'CSPDarknet',
  description: 'CSPDarknet of YOLOX: Focus stem, CSP stages and spatial pyramid pooling, sizes nano to x',
  paper: 'Ge et al., YOLOX: Exceeding YOLO Series in 2021, arXiv:2107.08430; Wang et al., CSPNet, arXiv:1911.11929',
  params: cspDarknetParams,
  build: (p) => new CSPDarknet(p),
});
