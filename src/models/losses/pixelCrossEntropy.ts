/**
 * Per-pixel softmax cross-entropy for semantic segmentation, with an ignore index (pixels the
 * loss skips: VOC's object borders, padding) and optional class weights: sum(w[y] * ce) over the
 * labelled pixels divided by their count, mmsegmentation's CrossEntropyLoss with
 * avg_non_ignore=True (its avg_factor: the pixels not ignored). Class weights scale each pixel's
 * term but not the count, as there; PyTorch's `F.cross_entropy(weight=...)` would divide by
 * sum(w[y]) instead, which moves the loss's scale with each batch's mix of classes. Without class
 * weights the two agree. With `ohem` only the hard pixels (src/models/losses/ohem.ts) add to the
 * sum, over the same count: mmsegmentation's decode head with OHEMPixelSampler, whose pixel
 * weights multiply the loss before the mean over the labelled pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { ohemParams, ohemPixelWeights } from './ohem';
import { lossSpec, type Losses } from './lossSlot';

export interface PixelLossOptions {
  ignoreIndex: number;
  classWeight?: number[];
  lossWeight: number;
  /** Keep only the hard pixels in the sum (OHEM); thresh unset: the min_kept largest losses. */
  ohem?: { thresh?: number; minKept: number };
}

/** logits `[n, h, w, K]`, labels `[n, h, w]` int32 (ignoreIndex where unlabelled). */
export function pixelCrossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D, o: PixelLossOptions): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[3];
    if (o.classWeight && o.classWeight.length !== k) throw new UserError(`PixelCrossEntropyLoss: class_weight has ${o.classWeight.length} entries but the head predicts ${k} classes`);
    const valid = tf.notEqual(labels, o.ignoreIndex);
    const safe = tf.where(valid, labels, tf.zerosLike(labels));
    const ce = tf.neg(tf.sum(tf.mul(tf.oneHot(safe, k), tf.logSoftmax(logits)), -1));
    const labelled = tf.cast(valid, 'float32');
    const w = o.classWeight ? tf.mul(labelled, tf.gather(tf.tensor1d(o.classWeight), safe)) : labelled;
    const hard = o.ohem ? tf.mul(w, ohemPixelWeights(logits, labels, { ...o.ohem, ignoreIndex: o.ignoreIndex, classWeight: o.classWeight })) : w;
    const loss = tf.div(tf.sum(tf.mul(ce, hard)), tf.maximum(tf.sum(labelled), 1));
    return (o.lossWeight === 1 ? loss : tf.mul(loss, o.lossWeight)) as tf.Scalar;
  });
}

export const pixelCrossEntropyParams = z.strictObject({
  ignore_index: z.number().int().min(0).max(255).default(255).describe('Label value the loss skips (VOC borders and padding are 255)'),
  class_weight: z.array(z.number().min(0)).optional().describe('Weight of each class, in class order (rare classes up, background down)'),
  loss_weight: z.number().min(0).default(1).describe('Factor on this loss (auxiliary heads: 0.4)'),
  ohem: ohemParams.optional(),
});

export type PixelLoss = Losses['pixels'];

register(
  'loss',
  lossSpec('pixels', {
    type: 'PixelCrossEntropyLoss',
    description: 'Per-pixel softmax cross-entropy with an ignore index, class weights and OHEM (segmentation)',
    paper: 'Long et al., Fully Convolutional Networks for Semantic Segmentation, CVPR 2015; mmsegmentation CrossEntropyLoss',
    params: pixelCrossEntropyParams,
    build: (p) => {
      const ohem = p.ohem && { thresh: p.ohem.thresh, minKept: p.ohem.min_kept };
      return (logits, labels) => pixelCrossEntropy(logits, labels, { ignoreIndex: p.ignore_index, classWeight: p.class_weight, lossWeight: p.loss_weight, ohem });
    },
  }),
);
