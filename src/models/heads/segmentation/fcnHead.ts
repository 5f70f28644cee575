/**
 * FCNHead (Long et al., Fully Convolutional Networks for Semantic Segmentation, CVPR 2015, as
 * mmsegmentation builds it): `num_convs` 3x3 conv-BN-ReLU on one backbone feature, optionally
 * concatenated with the input and fused by one more, then the 1x1 classifier. With num_convs 1
 * and concat_input false it is the usual auxiliary head on stage 3.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { ConvBnAct } from '../../nn/layers';
import { Sequential } from '../../nn/module';
import { DecodeHead, decodeHeadParams, pick } from './decodeHead';
import { blockCount } from '../../nn/init';

export const fcnHeadParams = z.strictObject({
  ...decodeHeadParams,
  num_convs: blockCount(0).default(2).describe('3x3 convolutions before the classifier'),
  concat_input: z.boolean().default(true).describe('Concatenate the input with the convolutions\' output and fuse them with one more 3x3 convolution'),
  dilation: z.number().int().min(1).default(1).describe('Dilation of the 3x3 convolutions'),
});

export class FCNHead extends DecodeHead {
  private readonly convs?: Sequential;
  private readonly convCat?: ConvBnAct;

  constructor(
    readonly fcnParams: z.output<typeof fcnHeadParams>,
    ctx: BuildContext,
  ) {
    super(fcnParams, ctx, 'FCNHead');
    const p = fcnParams;
    const inC = this.inChannelsAt(p.in_index, 'FCNHead');
    if (p.num_convs === 0 && inC !== p.channels) throw new Error(`FCNHead: num_convs 0 needs in_channels (${inC}) = channels (${p.channels})`);
    if (p.num_convs > 0) {
      const layers = Array.from({ length: p.num_convs }, (_, i) => new ConvBnAct(i === 0 ? inC : p.channels, p.channels, 3, { dilation: p.dilation }));
      this.convs = this.child('convs', new Sequential(layers));
    }
    if (p.concat_input) this.convCat = this.child('conv_cat', new ConvBnAct(inC + p.channels, p.channels, 3));
  }

  protected features(inputs: tf.Tensor4D[]): tf.Tensor4D {
    const x = pick(inputs, this.params.in_index, 'FCNHead');
    let y = this.convs ? (this.convs.forward(x) as tf.Tensor4D) : x;
    if (this.convCat) y = this.convCat.forward(tf.concat([x, y], 3));
    return y;
  }
}

register('head', {
  type: 'FCNHead',
  description: 'FCN segmentation head: 3x3 conv-BN-ReLU layers on one backbone feature and a 1x1 per-pixel classifier',
  paper: 'Long et al., Fully Convolutional Networks for Semantic Segmentation, CVPR 2015, arXiv:1411.4038',
  params: fcnHeadParams,
  build: (p, ctx) => new FCNHead(p, ctx),
});
