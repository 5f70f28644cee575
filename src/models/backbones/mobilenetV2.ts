/**
 * MobileNetV2 (Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018,
 * arXiv:1801.04381): inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 linear projection),
 * ReLU6, and a width multiplier. `stem_stride: 1` keeps small images (28x28, 32x32) large enough.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { Layer, Module, Sequential } from '../nn/module';
import { ConvBnAct } from '../nn/layers';
import type { Backbone } from './types';

/** Expansion t, output channels c, repeats n, first stride s (Table 2 of the paper). */
const SETTINGS: Array<[number, number, number, number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export const mobilenetV2Params = z.strictObject({
  width_mult: z.number().positive().max(4).default(1).describe('Width multiplier of every layer (0.35 to 1.4 in the paper)'),
  in_channels: z.number().int().min(1).default(3).describe('Channels of the input images; when left out, training uses the channels of its data'),
  stem_stride: z.literal([1, 2]).default(2).describe('Stride of the first convolution: 2 for ImageNet-sized images, 1 for 32x32 or smaller'),
  out_indices: z.array(z.number().int().min(0).max(7)).min(1).default([7]).describe('Stages (0-6: the block groups, 7: the final 1x1 convolution) whose feature maps are returned'),
  frozen_stages: z.number().int().min(-1).max(7).default(-1).describe('Freeze the stem and stages up to this index (-1 = none)'),
});

export type MobileNetV2Params = z.output<typeof mobilenetV2Params>;

/** Channels rounded to a multiple of 8, never dropping more than 10% (the reference `_make_divisible`). */
export function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor(v + divisor / 2) - (Math.floor(v + divisor / 2) % divisor));
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

class InvertedResidual extends Layer<tf.Tensor4D, tf.Tensor4D> {
  private readonly layers: Sequential;
  private readonly residual: boolean;

  constructor(inC: number, outC: number, stride: number, expand: number) {
    super();
    const hidden = Math.round(inC * expand);
    const parts: Layer[] = [];
    if (expand !== 1) parts.push(new ConvBnAct(inC, hidden, 1, { padding: 0, act: 'relu6' }));
    parts.push(new ConvBnAct(hidden, hidden, 3, { stride, groups: hidden, act: 'relu6' }));
    parts.push(new ConvBnAct(hidden, outC, 1, { padding: 0, act: 'none' }));
    this.layers = this.child('conv', new Sequential(parts));
    this.residual = stride === 1 && inC === outC;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.layers.forward(x) as tf.Tensor4D;
    return this.residual ? (tf.add(x, y) as tf.Tensor4D) : y;
  }
}

export class MobileNetV2 extends Module implements Backbone {
  readonly outChannels: number[];
  readonly inChannels: number;
  private readonly stem: ConvBnAct;
  private readonly stages: Layer[] = [];

  constructor(readonly params: MobileNetV2Params) {
    super();
    this.inChannels = params.in_channels;
    let inC = makeDivisible(32 * params.width_mult);
    this.stem = this.child('stem', new ConvBnAct(params.in_channels, inC, 3, { stride: params.stem_stride, act: 'relu6' }));
    const channels: number[] = [];
    SETTINGS.forEach(([t, c, n, s], i) => {
      const outC = makeDivisible(c * params.width_mult);
      const blocks: Layer[] = [];
      for (let b = 0; b < n; b++) {
        blocks.push(new InvertedResidual(inC, outC, b === 0 ? s : 1, t));
        inC = outC;
      }
      this.stages.push(this.child(`layer${i + 1}`, new Sequential(blocks)));
      channels.push(outC);
    });
    const last = makeDivisible(1280 * Math.max(1, params.width_mult));
    this.stages.push(this.child('conv_last', new ConvBnAct(inC, last, 1, { padding: 0, act: 'relu6' })));
    channels.push(last);
    this.outChannels = params.out_indices.map((i) => channels[i]);
    if (params.frozen_stages >= 0) {
      this.stem.freeze();
      for (let i = 0; i <= params.frozen_stages && i < this.stages.length; i++) this.stages[i].freeze();
    }
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    let y = this.stem.forward(x);
    const outs: tf.Tensor4D[] = [];
    this.stages.forEach((stage, i) => {
      y = stage.forward(y) as tf.Tensor4D;
      if (this.params.out_indices.includes(i)) outs.push(y);
    });
    return outs;
  }
}

register('backbone', {
  type: 'MobileNetV2',
  description: 'Inverted-residual mobile network with depthwise convolutions and a width multiplier',
  paper: 'Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018, arXiv:1801.04381',
  params: mobilenetV2Params,
  build: (p) => new MobileNetV2(p),
});
