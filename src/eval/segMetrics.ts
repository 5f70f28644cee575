/**
 * Semantic segmentation metrics as mmsegmentation computes them (mmseg.core.evaluation.metrics):
 * per-class intersection, union, predicted and labelled areas accumulated over the whole data set
 * (not averaged per image), then
 *   IoU_c = I_c / U_c,  Acc_c = I_c / label_c,  aAcc = sum I / sum label,
 *   mIoU, mAcc = means over the classes whose value is defined (NaN, 0/0, classes skipped).
 * Pixels whose truth is the ignore index are left out. A truth value that is no class (>= the
 * number of classes, not ignored) counts nowhere as a label but its prediction still counts as
 * predicted (mmsegmentation's histograms do the same).
 *
 * What is accumulated is a confusion table: rows the true value of the pixel (0-255, the mask
 * byte), columns the predicted class — so the ignore index can be chosen after prediction.
 */

/** Rows of the confusion table: every byte value a mask can hold. */
export const MASK_VALUES = 256;

/** Add the pixels of one batch: `truth` mask bytes, `pred` predicted classes (0 to k - 1), same length. */
export function accumulateConfusion(confusion: Float64Array, k: number, truth: Uint8Array, pred: Int32Array | Uint8Array): void {
  if (truth.length !== pred.length) throw new Error(`accumulateConfusion: ${truth.length} truth pixels but ${pred.length} predictions`);
  for (let i = 0; i < truth.length; i++) confusion[truth[i] * k + pred[i]] += 1;
}

export interface SegMetrics {
  aAcc: number;
  mIoU: number;
  mAcc: number;
  /** Per class (NaN where undefined): IoU, accuracy, pixels labelled, pixels predicted. */
  iou: number[];
  acc: number[];
  areaLabel: number[];
  areaPred: number[];
}

function nanMean(values: number[]): number {
  const ok = values.filter((v) => !Number.isNaN(v));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
}

/** Metrics of a `MASK_VALUES x k` confusion table (row-major), `ignoreIndex` excluded. */
export function segMetrics(confusion: Float64Array, k: number, ignoreIndex = 255): SegMetrics {
  const intersect = new Array<number>(k).fill(0);
  const areaLabel = new Array<number>(k).fill(0);
  const areaPred = new Array<number>(k).fill(0);
  for (let t = 0; t < MASK_VALUES; t++) {
    if (t === ignoreIndex) continue;
    for (let p = 0; p < k; p++) {
      const n = confusion[t * k + p];
      areaPred[p] += n;
      if (t >= k) continue;
      areaLabel[t] += n;
      if (p === t) intersect[t] += n;
    }
  }
  const iou = intersect.map((i, c) => i / (areaLabel[c] + areaPred[c] - i));
  const acc = intersect.map((i, c) => i / areaLabel[c]);
  const total = areaLabel.reduce((a, b) => a + b, 0);
  return { aAcc: intersect.reduce((a, b) => a + b, 0) / total, mIoU: nanMean(iou), mAcc: nanMean(acc), iou, acc, areaLabel, areaPred };
}
