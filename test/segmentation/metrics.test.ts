/** SegEvaluator's metrics: hand-made cases and a numpy port of mmsegmentation's intersect_and_union / total_area_to_metrics. */
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random';
import { accumulateConfusion, MASK_VALUES, segMetrics } from '../../src/eval/segMetrics';
import { SegEvaluator } from '../../src/eval/segEvaluator';
import { pythonHas, runPython } from '../data/python';

function table(k: number, pairs: Array<[Uint8Array, Int32Array]>): Float64Array {
  const c = new Float64Array(MASK_VALUES * k);
  for (const [t, p] of pairs) accumulateConfusion(c, k, t, p);
  return c;
}

describe('segmentation metrics', () => {
  it('hand-made: IoU, Acc, aAcc over the whole set, ignore index left out, absent classes NaN and skipped', () => {
    // Image 1: truth [0 0 1 1 255], predicted [0 1 1 1 2]; image 2: truth [2 2 0], predicted [2 0 0].
    const c = table(4, [
      [Uint8Array.from([0, 0, 1, 1, 255]), Int32Array.from([0, 1, 1, 1, 2])],
      [Uint8Array.from([2, 2, 0]), Int32Array.from([2, 0, 0])],
    ]);
    const m = segMetrics(c, 4, 255);
    // class 0: I = 2 (px 0, img2 px 2), label 3, pred 3 -> U = 4; class 1: I 2, label 2, pred 3 -> U 3;
    // class 2: I 1, label 2, pred 1 -> U 2; class 3: nowhere -> NaN.
    expect(m.iou.slice(0, 3)).toEqual([2 / 4, 2 / 3, 1 / 2]);
    expect(m.iou[3]).toBeNaN();
    expect(m.acc.slice(0, 3)).toEqual([2 / 3, 1, 1 / 2]);
    expect(m.mIoU).toBeCloseTo((2 / 4 + 2 / 3 + 1 / 2) / 3, 12);
    expect(m.mAcc).toBeCloseTo((2 / 3 + 1 + 1 / 2) / 3, 12);
    expect(m.aAcc).toBeCloseTo(5 / 7, 12);
    // A class predicted but never true has IoU 0 (counted) and no accuracy (skipped).
    const fp = segMetrics(table(2, [[Uint8Array.from([0, 0]), Int32Array.from([0, 1])]]), 2);
    expect(fp.iou).toEqual([0.5, 0]);
    expect(fp.acc[1]).toBeNaN();
    expect(fp.mIoU).toBe(0.25);
    expect(fp.mAcc).toBe(0.5);
  });

  it('SegEvaluator reports mIoU, mAcc, aAcc and IoU.<class> where defined', () => {
    const c = table(3, [[Uint8Array.from([0, 1, 1, 255]), Int32Array.from([0, 1, 0, 1])]]);
    const out = new SegEvaluator({ ignore_index: 255, per_class: true, resolution: 'pipeline' }).evaluate({ count: 1, indices: Int32Array.of(0), classes: ['bg', 'cat', 'dog'], segmentation: { numClasses: 3, confusion: c } }, { name: 'val' });
    expect(out).toEqual({ mIoU: (0.5 + 0.5) / 2, mAcc: (1 + 0.5) / 2, aAcc: 2 / 3, 'IoU.bg': 0.5, 'IoU.cat': 0.5 });
    expect(() => new SegEvaluator({ ignore_index: 255, per_class: true, resolution: 'pipeline' }).evaluate({ count: 0, indices: new Int32Array(0) }, { name: 'val' })).toThrow(/SegEvaluator on "val": needs per-pixel predictions/);
  });

  it.skipIf(!pythonHas('numpy'))('agrees with a numpy implementation of mmsegmentation on random masks (ignore 255 and a custom ignore index)', () => {
    const rng = new Random(11);
    const k = 6;
    const images = Array.from({ length: 5 }, (_, i) => {
      const n = 200 + 37 * i;
      // Class 5 never appears in truth or prediction of any image; 255 in a tenth of the pixels.
      const truth = Uint8Array.from({ length: n }, () => (rng.chance(0.1) ? 255 : rng.int(k - 1)));
      const pred = Int32Array.from(truth, (t) => (rng.chance(0.6) && t !== 255 ? t : rng.int(k - 1)));
      return { truth, pred };
    });
    const script = `
import json, sys
import numpy as np
d = json.load(sys.stdin)
k = d['k']
def run(ignore):
    ti, tu, tp, tl = (np.zeros(k) for _ in range(4))
    for im in d['images']:
        label = np.array(im['truth']); pred = np.array(im['pred'])
        mask = label != ignore
        pred, label = pred[mask], label[mask]
        inter = pred[pred == label]
        ai = np.histogram(inter, bins=k, range=(0, k))[0]
        ap = np.histogram(pred, bins=k, range=(0, k))[0]
        al = np.histogram(label, bins=k, range=(0, k))[0]
        ti += ai; tp += ap; tl += al; tu += ap + al - ai
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = ti / tu; acc = ti / tl
    return {'aAcc': float(ti.sum() / tl.sum()), 'mIoU': float(np.nanmean(iou)), 'mAcc': float(np.nanmean(acc)), 'iou': [None if np.isnan(v) else float(v) for v in iou]}
print(json.dumps({'255': run(255), '0': run(0)}))
`;
    const ref = JSON.parse(runPython(script, [], JSON.stringify({ k, images: images.map((im) => ({ truth: Array.from(im.truth), pred: Array.from(im.pred) })) })));
    const c = table(k, images.map((im) => [im.truth, im.pred]));
    for (const ignore of [255, 0]) {
      const m = segMetrics(c, k, ignore);
      const r = ref[String(ignore)];
      expect(m.aAcc).toBeCloseTo(r.aAcc, 12);
      expect(m.mIoU).toBeCloseTo(r.mIoU, 12);
      expect(m.mAcc).toBeCloseTo(r.mAcc, 12);
      m.iou.forEach((v, i) => (r.iou[i] === null ? expect(v).toBeNaN() : expect(v).toBeCloseTo(r.iou[i], 12)));
    }
    expect(ref['255'].iou[5]).toBeNull();
  });
});
