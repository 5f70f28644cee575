/**
 * MAE (He et al., Masked Autoencoders Are Scalable Vision Learners, CVPR 2022, arXiv:2111.06377).
 *
 * A random 75% of the patches of each image is removed (uniform random sampling without
 * replacement, Section 3 "Masking"); the ViT encoder sees only the visible 25% (plus the class
 * token), which makes pre-training about 3x cheaper; a light decoder (MAENeck) receives the
 * encoded visible tokens and a shared mask token at every removed position and predicts the
 * pixels of all patches; the loss is the mean squared error on the removed patches only, against
 * per-patch normalised pixels (`norm_pix_loss`).
 *
 * The encoder's position embeddings are fixed 2-D sine-cosine ones, as the reference's
 * (`pos_embed` with requires_grad=False, a zero row for the class token): set when the model is
 * built and never trained. A fine-tuned ViT starts from them and learns them.
 *
 * The mask is drawn from the step's seeded generator, so a resumed run masks exactly as an
 * uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register, type BuildContext } from '../../../core/registry';
import { slot } from '../../../core/schema';
import { UserError } from '../../../core/problems';
import { VisionTransformer } from '../../backbones/visionTransformer';
import { sincosWithClassToken, type MAENeck } from '../../necks/maeNeck';
import { maskedMseParams, patchify } from '../../losses/maskedPatchLoss';
import { buildLoss, lossShorthand, lossSlot, type Losses } from '../../losses/lossSlot';
import { stepRandom } from '../../nn/stepRandom';
import type { Random } from '../../../core/random';
import type { StepOutput, TensorBatch } from '../types';
import { SelfSupervised } from './base';

export const maeParams = z.strictObject({
  backbone: slot('backbone', 'The encoder: a VisionTransformer'),
  neck: slot('neck', 'The decoder (MAENeck)').default({ type: 'MAENeck' }),
  mask_ratio: z.number().gt(0, 'mask_ratio must be above 0').lt(1, 'mask_ratio must be below 1: the encoder needs visible patches (the paper masks 0.75)').default(0.75).describe('Fraction of the patches removed from each image (0.75)'),
  loss: lossSlot('patches', 'MaskedMSELoss'),
  norm_pix_loss: lossShorthand(maskedMseParams, 'norm_pix_loss', 'MaskedMSELoss'),
});

/** One image's masking: which patches the encoder keeps, and how to put tokens back in order. */
export interface Masking {
  /** Patch indices kept, in the (random) order the encoder sees them: `[B, keep]`. */
  idsKeep: Int32Array;
  /** For each patch position, its index in [kept..., removed...] order: `[B, N]`. */
  idsRestore: Int32Array;
  /** 1 for removed patches, 0 for kept ones, in image order: `[B, N]`. */
  mask: Float32Array;
  keep: number;
}

/** MAE's random masking: per image, argsort of uniform noise; the first `keep` patches are kept. */
export function randomMasking(batch: number, patches: number, ratio: number, rng: Random): Masking {
  // int(L * (1 - mask_ratio)), as the authors' random_masking (models_mae.py) truncates.
  const keep = Math.max(1, Math.floor(patches * (1 - ratio)));
  const idsKeep = new Int32Array(batch * keep);
  const idsRestore = new Int32Array(batch * patches);
  const mask = new Float32Array(batch * patches);
  const noise = new Float64Array(patches);
  const order = Array.from({ length: patches }, (_, i) => i);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < patches; i++) noise[i] = rng.next();
    order.sort((x, y) => noise[x] - noise[y] || x - y);
    for (let r = 0; r < patches; r++) {
      const patch = order[r];
      idsRestore[b * patches + patch] = r;
      if (r < keep) idsKeep[b * keep + r] = patch;
      else mask[b * patches + patch] = 1;
    }
    order.sort((x, y) => x - y);
  }
  return { idsKeep, idsRestore, mask, keep };
}

export class MAE extends SelfSupervised {
  readonly kind = 'MAE';
  protected override readonly minViews = 1;
  readonly backbone: VisionTransformer;
  readonly neck: MAENeck;
  private readonly lossFn: Losses['patches'];

  constructor(
    readonly params: z.output<typeof maeParams>,
    ctx: BuildContext,
  ) {
    super();
    const backbone = ctx.build<unknown>('backbone', params.backbone);
    if (!(backbone instanceof VisionTransformer)) throw new UserError(`MAE needs a VisionTransformer backbone (model.backbone.type), got ${params.backbone.type}`);
    this.backbone = this.child('backbone', backbone);
    fixSinCosPositions(backbone);
    const p = backbone.params.patch_size;
    this.neck = this.child(
      'neck',
      ctx.build<MAENeck>('neck', params.neck, { in_channels: backbone.embedDim, num_patches: backbone.gridSize ** 2, patch_size: p, out_pixels: p * p * backbone.inChannels }),
    );
    this.lossFn = buildLoss(ctx, 'MAE', 'patches', params.loss, { norm_pix_loss: params.norm_pix_loss });
  }

  /** Encoder on the kept patches: tokens `[B, 1 + keep, D]` (class token first). */
  encodeVisible(images: tf.Tensor4D, m: Masking): tf.Tensor3D {
    const vit = this.backbone;
    const tokens = vit.embedPatches(images);
    const [b, n, d] = tokens.shape;
    const flat = new Int32Array(b * m.keep);
    for (let i = 0; i < b; i++) for (let j = 0; j < m.keep; j++) flat[i * m.keep + j] = i * n + m.idsKeep[i * m.keep + j];
    const visible = tf.reshape(tf.gather(tf.reshape(tokens, [b * n, d]), tf.tensor1d(flat, 'int32')), [b, m.keep, d]) as tf.Tensor3D;
    let x = tf.concat([vit.classToken(visible), visible], 1) as tf.Tensor3D;
    for (const blk of vit.blocks) x = blk.forward(x);
    return vit.norm.forward(x) as tf.Tensor3D;
  }

  /** Loss, prediction and mask of one batch of images. */
  forwardLoss(images: tf.Tensor4D, m: Masking): { loss: tf.Scalar; pred: tf.Tensor3D; mask: tf.Tensor2D } {
    const [b, h, w] = images.shape;
    const p = this.backbone.params.patch_size;
    const n = (h / p) * (w / p);
    if (n !== this.neck.numPatches) {
      throw new UserError(`MAE: images of ${h}x${w} make ${n} patches but the model is set up for ${this.neck.numPatches}: set model.backbone.img_size: ${h} (or resize the images)`);
    }
    const latent = this.encodeVisible(images, m);
    const pred = this.neck.forward(latent, tf.tensor2d(m.idsRestore, [b, n], 'int32'));
    const mask = tf.tensor2d(m.mask, [b, n]);
    const loss = this.lossFn(pred, patchify(images, p), mask);
    return { loss, pred, mask };
  }

  trainStep(batch: TensorBatch): StepOutput {
    this.requireViews(batch);
    const images = batch.views[0];
    const [b, h, w] = images.shape;
    const p = this.backbone.params.patch_size;
    const masking = randomMasking(b, (h / p) * (w / p), this.params.mask_ratio, stepRandom());
    return { loss: this.forwardLoss(images, masking).loss };
  }
}

/** The ViT's position embeddings made MAE's: 2-D sine-cosine (class token row zero), not trained. */
function fixSinCosPositions(vit: VisionTransformer): void {
  const d = vit.embedDim;
  if (d % 4 !== 0) throw new UserError(`MAE: the encoder's sine-cosine position embeddings need an embed_dim divisible by 4, got ${d}`);
  tf.tidy(() => vit.posEmbed.assign(sincosWithClassToken(d, vit.gridSize)));
  vit.posEmbed.trainable = false;
}

register('model', {
  type: 'MAE',
  description: 'Masked autoencoder: ViT encoder on the visible 25% of patches, light decoder, pixel loss on the masked ones',
  paper: 'He et al., Masked Autoencoders Are Scalable Vision Learners (MAE), CVPR 2022, arXiv:2111.06377',
  params: maeParams,
  build: (p, ctx) => new MAE(p, ctx),
});
