import { describe, expect, it } from 'vitest';
import { batchedNms, cxcywhToXyxy, iouXyxy, nms, xywhToXyxy, xyxyToXywh } from '../../src/models/algorithms/detection/boxes';
import { postprocess, postprocessScores } from '../../src/models/algorithms/detection/postprocess';
import { iouLoss } from '../../src/models/losses/iouLoss';
import { bceWithLogits } from '../../src/models/losses/bceWithLogits';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';

describe('box arithmetic', () => {
  it('converts between corner, COCO and centre forms exactly', () => {
    expect(xywhToXyxy([10, 20, 30, 40])).toEqual([10, 20, 40, 60]);
    expect(xyxyToXywh([10, 20, 40, 60])).toEqual([10, 20, 30, 40]);
    expect(cxcywhToXyxy([25, 40, 30, 40])).toEqual([10, 20, 40, 60]);
  });

  it('IoU: identical 1, disjoint 0, touching 0, half-overlapping 1/3', () => {
    expect(iouXyxy([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iouXyxy([0, 0, 10, 10], [20, 20, 30, 30])).toBe(0);
    expect(iouXyxy([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
    expect(iouXyxy([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3, 12);
  });

  it('NMS keeps the best of each overlapping group, best first; batched NMS never mixes classes', () => {
    const boxes = [
      [0, 0, 10, 10],
      [1, 0, 11, 10],
      [20, 20, 30, 30],
      [0, 0, 10, 10],
    ];
    const scores = [0.8, 0.9, 0.5, 0.7];
    // Box 1 (0.9) suppresses 0 (IoU 9/11) and 3; box 2 stands alone.
    expect(nms(boxes, scores, 0.5)).toEqual([1, 2]);
    // IoU 9/11 = 0.82 is not above 0.85: 0 survives; 3 is identical to 0 (IoU 1) and goes.
    expect(nms(boxes, scores, 0.85)).toEqual([1, 0, 2]);
    expect(batchedNms(boxes, scores, [0, 0, 0, 1], 0.5)).toEqual([1, 3, 2]);
  });
});

describe('post-processing', () => {
  it('scores objectness x best class, thresholds, suppresses and caps', () => {
    // Three cells, two classes: (cx, cy, w, h, obj, p0, p1).
    const decoded = [10, 10, 10, 10, 0.9, 0.2, 0.8, 11, 10, 10, 10, 0.8, 0.9, 0.1, 50, 50, 4, 4, 0.5, 0.1, 0.1];
    const d = postprocess(decoded, 3, 2, { scoreThreshold: 0.1, nmsThreshold: 0.5, maxDetections: 10 });
    // 0.72 (class 1) and 0.72 (class 0) overlap but differ in class; 0.05 is under the threshold.
    expect(Array.from(d.labels)).toEqual([1, 0]);
    expect(Array.from(d.scores)).toEqual([Math.fround(0.9 * 0.8), Math.fround(0.8 * 0.9)]);
    expect(Array.from(d.boxes.subarray(0, 4))).toEqual([5, 5, 15, 15]);
    const agnostic = postprocess(decoded, 3, 2, { scoreThreshold: 0.1, nmsThreshold: 0.5, maxDetections: 10, classAgnostic: true });
    expect(agnostic.scores.length).toBe(1);
    expect(postprocess(decoded, 3, 2, { scoreThreshold: 0.01, nmsThreshold: 0.5, maxDetections: 1 }).scores.length).toBe(1);
  });

  it("from an export's boxes and scores it gives the same as from decoded outputs", () => {
    const decoded = [10, 10, 10, 10, 0.9, 0.2, 0.8, 30, 10, 6, 8, 0.6, 0.7, 0.3];
    const boxes = [5, 5, 15, 15, 27, 6, 33, 14];
    const scores = [0.9 * 0.2, 0.9 * 0.8, 0.6 * 0.7, 0.6 * 0.3];
    const opts = { scoreThreshold: 0.1, nmsThreshold: 0.5, maxDetections: 10 };
    const a = postprocess(decoded, 2, 2, opts);
    const b = postprocessScores(boxes, scores, 2, 2, opts);
    expect(Array.from(b.labels)).toEqual(Array.from(a.labels));
    expect(Array.from(b.boxes)).toEqual(Array.from(a.boxes));
    Array.from(b.scores).forEach((v, i) => expect(v).toBeCloseTo(a.scores[i], 6));
  });
});

describe('losses', () => {
  it('IoU loss 1 - IoU^2 and GIoU loss on hand-made pairs', async () => {
    await useCpu();
    // (cx, cy, w, h): the same box; a box half as wide sharing its left half (IoU 1/2); disjoint boxes.
    const pred = tf.tensor2d([
      [5, 5, 10, 10],
      [2.5, 5, 5, 10],
      [5, 5, 2, 2],
    ]);
    const target = tf.tensor2d([
      [5, 5, 10, 10],
      [5, 5, 10, 10],
      [15, 5, 2, 2],
    ]);
    const iou = Array.from(iouLoss(pred, target, 'iou').dataSync());
    [0, 0.75, 1].forEach((v, i) => expect(iou[i]).toBeCloseTo(v, 6));
    // GIoU of the disjoint pair: 0 - (enclosing 12x2 = 24 - union 8) / 24 = -2/3, loss 5/3.
    const giou = Array.from(iouLoss(pred, target, 'giou').dataSync());
    [0, 0.5, 5 / 3].forEach((v, i) => expect(giou[i]).toBeCloseTo(v, 6));
  });

  it('BCE on logits is stable for large logits and matches the plain formula', async () => {
    await useCpu();
    const x = [-30, -2, 0, 0.5, 3, 40];
    const t = [0, 1, 0.5, 0.3, 1, 0];
    const got = Array.from(bceWithLogits(tf.tensor1d(x), tf.tensor1d(t)).dataSync());
    x.forEach((xi, i) => {
      const p = 1 / (1 + Math.exp(-xi));
      const plain = xi === 40 ? 40 : -(t[i] * Math.log(p) + (1 - t[i]) * Math.log(1 - p));
      expect(got[i]).toBeCloseTo(plain, 4);
    });
  });
});
