/**
 * IoU loss of YOLOX (Ge et al., arXiv:2107.08430; IoU loss from Yu et al., UnitBox, ACM MM 2016,
 * arXiv:1608.01471): `1 - IoU^2` for matched box pairs, or `1 - GIoU` (Rezatofighi et al.,
 * Generalized Intersection over Union, CVPR 2019, arXiv:1902.09630). Boxes are `[k, 4]` as
 * (centre x, centre y, width, height) in pixels; the result is the `[k]` per-pair losses.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Product of the two columns of `[k, 2]` (tf.prod's gradient needs chained ops tfjs-core alone lacks). */
function area(wh: tf.Tensor): tf.Tensor1D {
  const [w, h] = tf.split(wh, 2, 1);
  return tf.reshape(tf.mul(w, h), [-1]) as tf.Tensor1D;
}

export type IouLossType = 'iou' | 'giou';

/** Per-pair losses of predicted and target boxes `[k, 4]` (cx, cy, w, h). */
export function iouLoss(pred: tf.Tensor2D, target: tf.Tensor2D, type: IouLossType = 'iou'): tf.Tensor1D {
  return tf.tidy(() => {
    const [pxy, pwh] = tf.split(pred, 2, 1);
    const [txy, twh] = tf.split(target, 2, 1);
    const pHalf = tf.mul(pwh, 0.5);
    const tHalf = tf.mul(twh, 0.5);
    const pTl = tf.sub(pxy, pHalf);
    const pBr = tf.add(pxy, pHalf);
    const tTl = tf.sub(txy, tHalf);
    const tBr = tf.add(txy, tHalf);
    const tl = tf.maximum(pTl, tTl);
    const br = tf.minimum(pBr, tBr);
    // The reference zeroes the intersection unless tl < br on both axes.
    const inter = area(tf.relu(tf.sub(br, tl)));
    const areaP = area(pwh);
    const areaT = area(twh);
    const union = tf.sub(tf.add(areaP, areaT), inter);
    const iou = tf.div(inter, tf.add(union, 1e-16));
    if (type === 'iou') return tf.sub(1, tf.square(iou)) as tf.Tensor1D;
    const cTl = tf.minimum(pTl, tTl);
    const cBr = tf.maximum(pBr, tBr);
    const areaC = area(tf.sub(cBr, cTl));
    const giou = tf.sub(iou, tf.div(tf.sub(areaC, union), tf.maximum(areaC, 1e-16)));
    return tf.sub(1, tf.clipByValue(giou, -1, 1)) as tf.Tensor1D;
  });
}
