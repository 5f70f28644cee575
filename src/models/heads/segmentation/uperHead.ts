/**
 * UPerHead (Xiao et al., Unified Perceptual Parsing for Scene Understanding, ECCV 2018, as
 * mmsegmentation builds it): a pyramid pooling module (Zhao et al., PSPNet, CVPR 2017) on the
 * last backbone feature, an FPN (Lin et al., CVPR 2017) top-down over all of them, and the FPN
 * outputs resized to the finest one, concatenated and fused by a 3x3 convolution.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { UserError } from '../../../core/problems';
import { ConvBnAct } from '../../nn/layers';
import { DecodeHead, decodeHeadParams, resizeTo } from './decodeHead';

export const uperHeadParams = z.strictObject({
  ...decodeHeadParams,
  in_index: z.number().int().default(-1).describe('Not used: UPerHead reads every backbone output (set the backbone\'s out_indices)'),
  pool_scales: z.array(z.number().int().min(1)).min(1).default([1, 2, 3, 6]).describe('Bins per side of the pyramid pooling module'),
});

/** PyTorch's adaptive average pooling to `bins` x `bins`: bin i spans [floor(i n / b), ceil((i + 1) n / b)). */
export function adaptiveAvgPool(x: tf.Tensor4D, bins: number): tf.Tensor4D {
  const [, H, W] = x.shape;
  if (bins === 1) return tf.mean(x, [1, 2], true) as tf.Tensor4D;
  const span = (i: number, n: number) => [Math.floor((i * n) / bins), Math.ceil(((i + 1) * n) / bins)];
  const rows: tf.Tensor4D[] = [];
  for (let i = 0; i < bins; i++) {
    const [y0, y1] = span(i, H);
    const cells: tf.Tensor4D[] = [];
    for (let j = 0; j < bins; j++) {
      const [x0, x1] = span(j, W);
      cells.push(tf.mean(tf.slice(x, [0, y0, x0, 0], [-1, y1 - y0, x1 - x0, -1]), [1, 2], true) as tf.Tensor4D);
    }
    rows.push(tf.concat(cells, 2));
  }
  return tf.concat(rows, 1);
}

export class UPerHead extends DecodeHead {
  private readonly ppm: ConvBnAct[];
  private readonly bottleneck: ConvBnAct;
  private readonly lateral: ConvBnAct[];
  private readonly fpn: ConvBnAct[];
  private readonly fpnBottleneck: ConvBnAct;

  constructor(
    readonly uperParams: z.output<typeof uperHeadParams>,
    ctx: BuildContext,
  ) {
    super(uperParams, ctx, 'UPerHead');
    const p = uperParams;
    const inC = p.in_channels;
    if (!Array.isArray(inC) || inC.length < 2) throw new UserError('UPerHead: needs the channels of two or more backbone outputs (in_channels as a list; set the backbone\'s out_indices, e.g. [0, 1, 2, 3])');
    const C = p.channels;
    const last = inC[inC.length - 1];
    this.ppm = p.pool_scales.map((_, i) => this.child(`psp_modules.${i}`, new ConvBnAct(last, C, 1, { padding: 0 })));
    this.bottleneck = this.child('bottleneck', new ConvBnAct(last + p.pool_scales.length * C, C, 3));
    this.lateral = inC.slice(0, -1).map((c, i) => this.child(`lateral_convs.${i}`, new ConvBnAct(c, C, 1, { padding: 0 })));
    this.fpn = inC.slice(0, -1).map((_, i) => this.child(`fpn_convs.${i}`, new ConvBnAct(C, C, 3)));
    this.fpnBottleneck = this.child('fpn_bottleneck', new ConvBnAct(inC.length * C, C, 3));
  }

  protected features(inputs: tf.Tensor4D[]): tf.Tensor4D {
    const p = this.uperParams;
    const n = (p.in_channels as number[]).length;
    if (inputs.length !== n) throw new UserError(`UPerHead: built for ${n} backbone outputs but got ${inputs.length}`);
    const x = inputs[n - 1];
    const [, h, w] = x.shape;
    const pooled = p.pool_scales.map((s, i) => resizeTo(this.ppm[i].forward(adaptiveAvgPool(x, s)), h, w));
    const laterals = [...this.lateral.map((l, i) => l.forward(inputs[i])), this.bottleneck.forward(tf.concat([x, ...pooled], 3))];
    for (let i = n - 1; i > 0; i--) laterals[i - 1] = tf.add(laterals[i - 1], resizeTo(laterals[i], laterals[i - 1].shape[1], laterals[i - 1].shape[2]));
    const outs = [...laterals.slice(0, -1).map((l, i) => this.fpn[i].forward(l)), laterals[n - 1]];
    const [, H, W] = outs[0].shape;
    return this.fpnBottleneck.forward(tf.concat(outs.map((o) => resizeTo(o, H, W)), 3));
  }
}

register('head', {
  type: 'UPerHead',
  description: 'UPerNet head: pyramid pooling on the last feature, an FPN over all backbone outputs, fused at the finest one',
  paper: 'Xiao et al., Unified Perceptual Parsing for Scene Understanding, ECCV 2018, arXiv:1807.10221; PPM from Zhao et al., PSPNet, CVPR 2017',
  params: uperHeadParams,
  build: (p, ctx) => new UPerHead(p, ctx),
});
