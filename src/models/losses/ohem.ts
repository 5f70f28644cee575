/**
 * Online hard example mining over pixels (Shrivastava et al., CVPR 2016), as mmsegmentation's
 * OHEMPixelSampler chooses them: which labelled pixels of a batch the segmentation loss keeps.
 *
 *   - with `thresh`: the pixels whose softmax probability of their true class is below
 *     max(thresh, the (min_kept * batch)-th smallest such probability), i.e. every pixel the model
 *     is unsure of, and at least min_kept per image when there are that many;
 *   - without: the min_kept * batch pixels of largest loss (cross-entropy times class weight).
 *
 * Computed in the graph (topk, comparisons) on logits cut from the tape, so that engines without a
 * synchronous read (webgpu in Node) run it too, and it adds no gradient of its own. Pixels tied
 * with the cut-off are all kept (mmsegmentation's sort keeps an arbitrary subset of a tie).
 * A function of (logits, labels) only, so any pixel loss can take it as an option (today
 * PixelCrossEntropyLoss's `ohem:`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { stopGradient } from '../nn/stopGradient';

export const ohemParams = z
  .strictObject({
    thresh: z.number().min(0).max(1).optional().describe('Keep pixels whose probability of the true class is below this (mmseg: 0.7); unset: keep the min_kept largest losses'),
    min_kept: z.number().int().min(1).default(100000).describe('Pixels kept at least per image (with thresh), or exactly (without)'),
  })
  .describe('Online hard example mining over pixels (mmsegmentation OHEMPixelSampler)');

export interface OhemOptions {
  thresh?: number;
  minKept: number;
  ignoreIndex: number;
  classWeight?: number[];
}

/** 1 for each pixel the loss keeps, 0 for the others and the ignored ones: `[n, h, w]` float32. */
export function ohemPixelWeights(logits: tf.Tensor4D, labels: tf.Tensor3D, o: OhemOptions): tf.Tensor3D {
  return tf.tidy(() => {
    const x = stopGradient(logits);
    const [n, h, w, k] = x.shape;
    const size = n * h * w;
    const valid = tf.reshape(tf.notEqual(labels, o.ignoreIndex), [size]);
    const flat = tf.reshape(labels, [size]);
    const safe = tf.where(valid, flat, tf.zerosLike(flat));
    const oneHot = tf.oneHot(safe, k);
    const kept = Math.min(o.minKept * n, size);
    const minusInf = tf.fill([size], -Infinity);
    let keep: tf.Tensor;
    if (o.thresh !== undefined) {
      const prob = tf.sum(tf.mul(oneHot, tf.softmax(tf.reshape(x, [size, k]))), -1);
      // Ascending probabilities of the labelled pixels: the largest of -p, the ignored ones last.
      const top = Math.min(kept + 1, size);
      const { values } = tf.topk(tf.where(valid, tf.neg(prob), minusInf), top);
      const numValid = tf.sum(tf.cast(valid, 'int32'));
      // mmseg: sort_prob[min(batch_kept, numel - 1)], 0 when no pixel is labelled.
      const at = tf.reshape(tf.maximum(tf.minimum(tf.scalar(Math.min(kept, top - 1), 'int32'), tf.sub(numValid, tf.scalar(1, 'int32'))), tf.scalar(0, 'int32')), [1]);
      const minThreshold = tf.where(tf.greater(numValid, 0), tf.reshape(tf.neg(tf.gather(values, at)), []), tf.scalar(0));
      keep = tf.logicalAnd(valid, tf.less(prob, tf.maximum(minThreshold, o.thresh)));
    } else {
      let loss = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(tf.reshape(x, [size, k]))), -1));
      if (o.classWeight) loss = tf.mul(loss, tf.gather(tf.tensor1d(o.classWeight), safe));
      const scored = tf.where(valid, loss, minusInf);
      // The kept-th largest loss of the labelled pixels is the cut-off.
      const { values } = tf.topk(scored, kept);
      const cut = tf.reshape(tf.gather(values, tf.tensor1d([kept - 1], 'int32')), []);
      keep = tf.logicalAnd(valid, tf.greaterEqual(scored, cut));
    }
    return tf.reshape(tf.cast(keep, 'float32'), [n, h, w]) as tf.Tensor3D;
  });
}
