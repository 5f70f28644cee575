/**
 * FCMAE, the fully convolutional masked autoencoder of ConvNeXt V2 (Woo et al., ConvNeXt V2:
 * Co-designing and Scaling ConvNets with Masked Autoencoders, CVPR 2023, arXiv:2301.00808,
 * Section 2). A random 60% of the patches of each image is hidden, a patch being what one feature of
 * the encoder's last stage sees (32x32 pixels for the ImageNet models); the ConvNeXt encoder sees only
 * the rest, through sparse convolutions in the paper's code: here the same computation densely,
 * every stage zeroing the hidden positions at its resolution, so that nothing of the hidden pixels
 * reaches the visible features (and GRN's norms count the visible positions only). A light decoder
 * (a 1x1 projection, a mask token at the hidden positions, one ConvNeXt V2 block of width 512) predicts
 * each patch's pixels, and the loss is MAE's: the mean squared error on the hidden patches, against
 * per-patch normalised pixels.
 *
 * The mask is drawn from the step's seeded generator, as MAE's, so a resumed run masks exactly as an
 * uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import { UserError } from '../../../core/problems';
import { ConvNeXt, ConvNeXtBlock } from '../../backbones/convnext';
import { Linear } from '../../nn/layers';
import { maskedMseParams, patchify } from '../../losses/maskedPatchLoss';
import { buildLoss, lossShorthand, lossSlot, type Losses } from '../../losses/lossSlot';
import { stepRandom } from '../../nn/stepRandom';
import * as init from '../../nn/init';
import type { StepOutput, TensorBatch } from '../types';
import { SelfSupervised } from './base';
import { randomMasking, type Masking } from './mae';

export const fcmaeParams = z.strictObject({
  backbone: slot('backbone', 'The encoder: a ConvNeXt (V2: use_grn: true, as the paper pre-trains)'),
  mask_ratio: z.number().gt(0, 'mask_ratio must be above 0').lt(1, 'mask_ratio must be below 1: the encoder needs visible patches (the paper masks 0.6)').default(0.6).describe('Fraction of the patches hidden from each image (0.6)'),
  decoder_embed_dim: z.number().int().min(1).default(512).describe('Width of the decoder (512)'),
  decoder_depth: z.number().int().min(0).max(8).default(1).describe('ConvNeXt V2 blocks in the decoder (1)'),
  loss: lossSlot('patches', 'MaskedMSELoss'),
  norm_pix_loss: lossShorthand(maskedMseParams, 'norm_pix_loss', 'MaskedMSELoss'),
});

export class FCMAE extends SelfSupervised {
  readonly kind = 'FCMAE';
  protected override readonly minViews = 1;
  readonly backbone: ConvNeXt;
  readonly proj: Linear;
  readonly maskToken: tf.Variable;
  readonly decoder: ConvNeXtBlock[];
  readonly pred: Linear;
  private readonly lossFn: Losses['patches'];

  constructor(
    readonly params: z.output<typeof fcmaeParams>,
    ctx: BuildContext,
  ) {
    super();
    const backbone = ctx.build<unknown>('backbone', params.backbone);
    if (!(backbone instanceof ConvNeXt)) throw new UserError(`FCMAE needs a ConvNeXt backbone (model.backbone.type), got ${params.backbone.type}`);
    this.backbone = this.child('backbone', backbone);
    const d = params.decoder_embed_dim;
    const stride = backbone.totalStride;
    // The paper's 1x1 convolutions, as linear layers over the channels of NHWC maps.
    this.proj = this.child('proj', new Linear(backbone.lastStageChannels, d, { init: 'trunc_normal' }));
    this.maskToken = this.param('mask_token', init.normal([d], 0.02));
    this.decoder = Array.from({ length: params.decoder_depth }, (_, i) => this.child(`decoder.${i}`, new ConvNeXtBlock(d, 0, 0, true)));
    this.pred = this.child('pred', new Linear(d, stride * stride * backbone.inChannels, { init: 'trunc_normal' }));
    this.lossFn = buildLoss(ctx, 'FCMAE', 'patches', params.loss, { norm_pix_loss: params.norm_pix_loss });
  }

  /** The patch grid of `images`, or a located error when the last stage does not tile them. */
  grid(images: tf.Tensor4D): [number, number] {
    const [, h, w] = images.shape;
    const stride = this.backbone.totalStride;
    if (h % stride !== 0 || w % stride !== 0) {
      const fit = (v: number) => Math.max(stride, Math.round(v / stride) * stride);
      throw new UserError(`FCMAE: images of ${h}x${w} do not tile into the encoder's ${stride}x${stride} patches (its patch_size and stages); resize them to ${fit(h)}x${fit(w)}, or change model.backbone.patch_size or its stages`);
    }
    return [h / stride, w / stride];
  }

  /** Loss and prediction (`[B, patches, stride^2 * C]`) of one batch under a masking of its patch grid. */
  forwardLoss(images: tf.Tensor4D, m: Masking): { loss: tf.Scalar; pred: tf.Tensor3D } {
    const [b] = images.shape;
    const [gh, gw] = this.grid(images);
    const hidden = tf.tensor4d(m.mask, [b, gh, gw, 1]);
    const visible = tf.sub(1, hidden) as tf.Tensor4D;
    const features = this.backbone.forwardMasked(images, visible);
    // The hidden positions (zeros from the encoder) become the mask token.
    let x = tf.add(tf.mul(this.proj.forward(features), visible), tf.mul(this.maskToken, hidden)) as tf.Tensor4D;
    for (const block of this.decoder) x = block.forward(x);
    const pred = tf.reshape(this.pred.forward(x), [b, gh * gw, -1]) as tf.Tensor3D;
    const loss = this.lossFn(pred, patchify(images, this.backbone.totalStride), tf.tensor2d(m.mask, [b, gh * gw]));
    return { loss, pred };
  }

  trainStep(batch: TensorBatch): StepOutput {
    this.requireViews(batch);
    const images = batch.views[0];
    const [gh, gw] = this.grid(images);
    return { loss: this.forwardLoss(images, randomMasking(images.shape[0], gh * gw, this.params.mask_ratio, stepRandom())).loss };
  }
}

register('model', {
  type: 'FCMAE',
  description: 'Fully convolutional masked autoencoder (ConvNeXt V2): ConvNeXt encoder on the visible 40% of patches, one-block decoder, pixel loss on the hidden ones',
  paper: 'Woo et al., ConvNeXt V2: Co-designing and Scaling ConvNets with Masked Autoencoders, CVPR 2023, arXiv:2301.00808',
  params: fcmaeParams,
  build: (p, ctx) => new FCMAE(p, ctx),
});
