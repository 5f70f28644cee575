/**
 * MixUp (Zhang et al., mixup: Beyond Empirical Risk Minimization, ICLR 2018) and CutMix (Yun et
 * al., CutMix, ICCV 2019) of a classification batch, as timm's `Mixup` does in its default
 * 'batch' mode: with probability `prob`, one lambda ~ Beta(alpha, alpha) for the whole batch,
 * each image mixed with the batch's reverse (image i with image N-1-i), CutMix chosen over MixUp
 * with `switch_prob` when both are on. The fine-tuning recipes of DeiT, ConvNeXt (V1 and V2), MAE
 * and BEiT use MixUp 0.8 and CutMix 1.0.
 *
 * The targets mix as the images do; the loss is lambda * loss(y) + (1 - lambda) * loss(y reversed),
 * which for cross-entropy (with label smoothing) is exactly its value on timm's mixed soft targets,
 * since cross-entropy is linear in its target; the mixing papers' own code computes it so.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { Random } from '../../core/random';

export const batchMixingParams = z
  .strictObject({
    mixup_alpha: z.number().min(0).default(0.8).describe('MixUp: lambda ~ Beta(alpha, alpha) (0: no MixUp; 0.8 in DeiT, ConvNeXt and MAE fine-tuning)'),
    cutmix_alpha: z.number().min(0).default(1).describe('CutMix: lambda ~ Beta(alpha, alpha), a box of 1 - lambda of the image pasted from the paired image (0: no CutMix)'),
    prob: z.number().min(0).max(1).default(1).describe('Probability that a batch is mixed at all'),
    switch_prob: z.number().min(0).max(1).default(0.5).describe('With both on: probability of CutMix rather than MixUp for a batch'),
    correct_lam: z.boolean().default(true).describe("CutMix: lambda recomputed from the box's area after clipping it to the image (timm's correct_lam)"),
  })
  .refine((p) => p.mixup_alpha > 0 || p.cutmix_alpha > 0, { error: 'give mixup_alpha or cutmix_alpha above 0 (or leave mixup out)' });

export type BatchMixingParams = z.output<typeof batchMixingParams>;

/** What one batch became: images mixed with the batch's reverse in proportion `lam`. */
export interface MixedBatch {
  images: tf.Tensor4D;
  /** The weight of each image's own label; 1 - lam goes to its partner's (the reversed batch's). */
  lam: number;
  kind: 'mixup' | 'cutmix';
  /** CutMix: the pasted box, rows y0..y1-1 and columns x0..x1-1. */
  box?: { y0: number; y1: number; x0: number; x1: number };
}

/** timm's rand_bbox: a box of sqrt(1 - lam) of each side around a uniform centre, clipped to the image. */
export function cutmixBox(h: number, w: number, lam: number, rng: Random): { y0: number; y1: number; x0: number; x1: number } {
  const ratio = Math.sqrt(1 - lam);
  const ch = Math.floor(h * ratio);
  const cw = Math.floor(w * ratio);
  const cy = rng.int(h);
  const cx = rng.int(w);
  const clip = (v: number, n: number) => Math.min(Math.max(v, 0), n);
  return { y0: clip(cy - Math.floor(ch / 2), h), y1: clip(cy + Math.floor(ch / 2), h), x0: clip(cx - Math.floor(cw / 2), w), x1: clip(cx + Math.floor(cw / 2), w) };
}

/** Mix `images` [N, H, W, C] with their reverse, or undefined when this batch is left as it is. */
export function mixBatch(images: tf.Tensor4D, p: BatchMixingParams, rng: Random): MixedBatch | undefined {
  if (!rng.chance(p.prob)) return undefined;
  const cutmix = p.cutmix_alpha > 0 && (p.mixup_alpha <= 0 || rng.chance(p.switch_prob));
  const drawn = rng.beta(cutmix ? p.cutmix_alpha : p.mixup_alpha, cutmix ? p.cutmix_alpha : p.mixup_alpha);
  const partner = tf.reverse(images, 0);
  if (!cutmix) return { images: tf.add(tf.mul(images, drawn), tf.mul(partner, 1 - drawn)) as tf.Tensor4D, lam: drawn, kind: 'mixup' };
  const [, h, w] = images.shape;
  const box = cutmixBox(h, w, drawn, rng);
  const area = (box.y1 - box.y0) * (box.x1 - box.x0);
  const lam = p.correct_lam ? 1 - area / (h * w) : drawn;
  // 1 inside the box (the partner's pixels), 0 elsewhere, broadcast over batch and channels. (A
  // lambda near 1 leaves the box empty.)
  const inside = area
    ? tf.reshape(
        tf.pad(tf.ones([box.y1 - box.y0, box.x1 - box.x0]), [
          [box.y0, h - box.y1],
          [box.x0, w - box.x1],
        ]),
        [1, h, w, 1],
      )
    : tf.zeros([1, h, w, 1]);
  return { images: tf.add(images, tf.mul(tf.sub(partner, images), inside)) as tf.Tensor4D, lam, kind: 'cutmix', box };
}
