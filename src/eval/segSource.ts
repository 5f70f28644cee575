/**
 * Segmentation scored at the source image's resolution, as mmsegmentation's IoUMetric does: the
 * logits a segmentor gives at the evaluation pipeline's size are resized back to the image as it
 * was decoded (bilinear, `F.interpolate(..., mode='bilinear', align_corners=False)`, a flip undone)
 * and their argmax is compared with the original mask.
 *
 * The way back is the view's `Frame` (src/data/types.ts): view x = sx * source x + tx in
 * continuous coordinates (pixel edges), so the centre of source pixel x lands on view pixel
 * coordinate u = sx * (x + 0.5) + tx - 0.5, where PyTorch's align_corners=False puts it. Like
 * PyTorch, u is clamped to [0, w - 1] (edge pixels repeat). A source pixel whose centre falls
 * outside the view (a crop cut it) has no prediction: -1, left out of the table, as `cvw report`
 * leaves out what its network input did not cover.
 */
import type { Frame } from '../data/types';

/** For each source index along one axis: the two view indices blended and the second's weight; i0 = -1 where the centre is outside the view. */
interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float64Array;
}

function axisTaps(n: number, scale: number, shift: number, size: number): AxisTaps {
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const w1 = new Float64Array(n);
  for (let x = 0; x < n; x++) {
    const centre = scale * (x + 0.5) + shift;
    if (!(centre >= 0 && centre < size)) {
      i0[x] = -1;
      continue;
    }
    const u = Math.min(Math.max(centre - 0.5, 0), size - 1);
    const f = Math.floor(u);
    i0[x] = f;
    i1[x] = Math.min(f + 1, size - 1);
    w1[x] = u - f;
  }
  return { i0, i1, w1 };
}

/**
 * The class of every pixel of the source image (`frame.width` x `frame.height`, row-major):
 * argmax over the `k` classes of the view's logits (`h x w x k`, HWC) bilinearly resized back
 * through `frame`; -1 where the pixel's centre falls outside the view. Ties go to the lower class
 * (torch.argmax, tf.argMax). Separable: each source row blends two view rows once (w * k), then
 * each pixel two columns (2k), so a 512x512 image of 21 classes is some 11 M multiply-adds.
 */
export function sourcePrediction(logits: Float32Array, h: number, w: number, k: number, frame: Frame): Int32Array {
  if (logits.length !== h * w * k) throw new Error(`sourcePrediction: ${logits.length} logits for ${h}x${w}x${k}`);
  const { width: W, height: H } = frame;
  const rows = axisTaps(H, frame.sy, frame.ty, h);
  const cols = axisTaps(W, frame.sx, frame.tx, w);
  const out = new Int32Array(W * H).fill(-1);
  const row = new Float64Array(w * k);
  const stride = w * k;
  for (let y = 0; y < H; y++) {
    const r0 = rows.i0[y];
    if (r0 < 0) continue;
    const a = rows.w1[y];
    const top = r0 * stride;
    const bottom = rows.i1[y] * stride;
    for (let j = 0; j < stride; j++) row[j] = (1 - a) * logits[top + j] + a * logits[bottom + j];
    const base = y * W;
    for (let x = 0; x < W; x++) {
      const c0 = cols.i0[x];
      if (c0 < 0) continue;
      const b = cols.w1[x];
      const left = c0 * k;
      const right = cols.i1[x] * k;
      let best = 0;
      let bestValue = -Infinity;
      for (let c = 0; c < k; c++) {
        const v = (1 - b) * row[left + c] + b * row[right + c];
        if (v > bestValue) {
          bestValue = v;
          best = c;
        }
      }
      out[base + x] = best;
    }
  }
  return out;
}

/** Add the covered pixels (`pred` >= 0) of one source image to the confusion table; returns how many were not covered. */
export function accumulateCovered(confusion: Float64Array, k: number, truth: Uint8Array, pred: Int32Array): number {
  if (truth.length !== pred.length) throw new Error(`accumulateCovered: ${truth.length} truth pixels but ${pred.length} predictions`);
  let uncovered = 0;
  for (let i = 0; i < truth.length; i++) {
    const p = pred[i];
    if (p < 0) uncovered++;
    else confusion[truth[i] * k + p] += 1;
  }
  return uncovered;
}
