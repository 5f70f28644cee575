/**
 * The PAFPN neck of YOLOX (Ge et al., arXiv:2107.08430): a feature pyramid (Lin et al., FPN,
 * arXiv:1612.03144) top-down path, then the bottom-up path of PANet (Liu et al., Path Aggregation
 * Network, arXiv:1803.01534), with CSP layers after every concatenation. Three maps in (strides 8,
 * 16, 32), three maps out with the same strides.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Module } from '../nn/module';
import type { Layer } from '../nn/module';
import { BaseConv, CSPLayer, YOLOX_SIZE_NAMES, YOLOX_SIZES, convBlock, yoloxActParam } from '../backbones/cspDarknet';
import type { Neck } from '../backbones/types';

export const yoloPafpnParams = z.strictObject({
  in_channels: z.array(z.number().int().min(1)).length(3).optional().describe('Channels of the three incoming maps (default: the backbone\'s)'),
  arch: z.enum(YOLOX_SIZE_NAMES).optional().describe('YOLOX size whose depth factor and depthwise choice apply (default: the YOLOX model\'s size, else s)'),
  deepen_factor: z.number().positive().max(16).optional().describe("Depth factor of the CSP layers (1.33 for YOLOX-x); default: the arch's"),
  depthwise: z.boolean().optional().describe("Depthwise-separable 3x3 convolutions; default: the arch's"),
  act: yoloxActParam,
});

export type YoloPafpnParams = z.output<typeof yoloPafpnParams>;

/** Nearest-neighbour upsampling by 2 (the reference's nn.Upsample(scale_factor=2)). */
function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.image.resizeNearestNeighbor(x, [x.shape[1] * 2, x.shape[2] * 2]);
}

export class YOLOPAFPN extends Module implements Neck {
  readonly outChannels: number[];
  readonly lateral_conv0: BaseConv;
  readonly C3_p4: CSPLayer;
  readonly reduce_conv1: BaseConv;
  readonly C3_p3: CSPLayer;
  readonly bu_conv2: Layer<tf.Tensor4D, tf.Tensor4D>;
  readonly C3_n3: CSPLayer;
  readonly bu_conv1: Layer<tf.Tensor4D, tf.Tensor4D>;
  readonly C3_n4: CSPLayer;

  constructor(readonly params: YoloPafpnParams) {
    super();
    if (!params.in_channels) throw new UserError('YOLOPAFPN: in_channels is unknown; set it or use a backbone that reports its channels');
    const [c3, c4, c5] = params.in_channels;
    const arch = YOLOX_SIZES[params.arch ?? 's'];
    const depthwise = params.depthwise ?? arch.depthwise;
    const n = Math.round(3 * (params.deepen_factor ?? arch.depth));
    const act = params.act;
    this.lateral_conv0 = this.child('lateral_conv0', new BaseConv(c5, c4, 1, 1, act));
    this.C3_p4 = this.child('C3_p4', new CSPLayer(2 * c4, c4, n, false, depthwise, act));
    this.reduce_conv1 = this.child('reduce_conv1', new BaseConv(c4, c3, 1, 1, act));
    this.C3_p3 = this.child('C3_p3', new CSPLayer(2 * c3, c3, n, false, depthwise, act));
    this.bu_conv2 = this.child('bu_conv2', convBlock(c3, c3, 3, 2, act, depthwise));
    this.C3_n3 = this.child('C3_n3', new CSPLayer(2 * c3, c4, n, false, depthwise, act));
    this.bu_conv1 = this.child('bu_conv1', convBlock(c4, c4, 3, 2, act, depthwise));
    this.C3_n4 = this.child('C3_n4', new CSPLayer(2 * c4, c5, n, false, depthwise, act));
    this.outChannels = [c3, c4, c5];
  }

  forward(features: tf.Tensor[]): tf.Tensor4D[] {
    if (features.length !== 3) throw new UserError(`YOLOPAFPN takes three feature maps (strides 8, 16, 32), got ${features.length}: set the backbone's out_indices to three stages`);
    const [x2, x1, x0] = features as tf.Tensor4D[];
    // Top-down: stride 32 -> 16 -> 8.
    const fpnOut0 = this.lateral_conv0.forward(x0);
    const fOut0 = this.C3_p4.forward(tf.concat([upsample2(fpnOut0), x1], 3));
    const fpnOut1 = this.reduce_conv1.forward(fOut0);
    const panOut2 = this.C3_p3.forward(tf.concat([upsample2(fpnOut1), x2], 3));
    // Bottom-up: stride 8 -> 16 -> 32.
    const panOut1 = this.C3_n3.forward(tf.concat([this.bu_conv2.forward(panOut2), fpnOut1], 3));
    const panOut0 = this.C3_n4.forward(tf.concat([this.bu_conv1.forward(panOut1), fpnOut0], 3));
    return [panOut2, panOut1, panOut0];
  }
}

register('neck', {
  type: 'YOLOPAFPN',
  description: 'YOLOX neck: FPN top-down and PAN bottom-up paths with CSP layers over three scales',
  paper: 'Ge et al., YOLOX, arXiv:2107.08430; Liu et al., PANet, arXiv:1803.01534',
  params: yoloPafpnParams,
  build: (p) => new YOLOPAFPN(p),
});
