import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cocoEvaluate, formatSummary, IOU_THRESHOLDS, RECALL_THRESHOLDS, type CocoDetection, type CocoGt } from '../../src/eval/cocoEval';
import { Random } from '../../src/core/random';
import { CocoEvaluator, toCoco } from '../../src/eval/coco';
import { tempFiles } from '../helpers/tmp';

/** Precision is tp / (tp + fp + eps), as pycocotools computes it. */
const round12 = (v: number) => Math.round(v * 1e12) / 1e12 + 0;

/** Ground truth with one category per name, images 1..n. */
function gt(images: number, annotations: Array<[number, number, number[]] | [number, number, number[], number]>, cats = 1): CocoGt {
  return {
    images: Array.from({ length: images }, (_, i) => ({ id: i + 1 })),
    annotations: annotations.map(([image_id, category_id, bbox, iscrowd], i) => ({ id: i + 1, image_id, category_id, bbox, area: bbox[2] * bbox[3], iscrowd: iscrowd ?? 0 })),
    categories: Array.from({ length: cats }, (_, i) => ({ id: i + 1, name: `c${i + 1}` })),
  };
}

const det = (image_id: number, category_id: number, bbox: number[], score: number): CocoDetection => ({ image_id, category_id, bbox, score });

describe('COCO protocol constants', () => {
  it('IoU thresholds .50:.05:.95 and 101 recall points as numpy.linspace gives them', () => {
    expect(IOU_THRESHOLDS).toHaveLength(10);
    expect(IOU_THRESHOLDS[0]).toBe(0.5);
    expect(IOU_THRESHOLDS[5]).toBe(0.75);
    expect(IOU_THRESHOLDS[9]).toBe(0.95);
    expect(RECALL_THRESHOLDS).toHaveLength(101);
    expect(RECALL_THRESHOLDS[100]).toBe(1);
  });
});

describe('cocoEvaluate on hand-made cases', () => {
  it('a perfect detection: AP 1 everywhere it is defined; a small box leaves medium and large at -1', () => {
    const r = cocoEvaluate(gt(1, [[1, 1, [0, 0, 10, 10]]]), [det(1, 1, [0, 0, 10, 10], 0.9)]);
    // Precision is tp / (tp + fp + eps), a hair under 1, as in pycocotools.
    [1, 1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1].forEach((v, i) => expect(r.stats[i]).toBeCloseTo(v, 12));
  });

  it('a false positive ranked above the true positive: precision 1/2 at every recall, AP 0.5', () => {
    const r = cocoEvaluate(gt(1, [[1, 1, [0, 0, 10, 10]]]), [det(1, 1, [50, 50, 10, 10], 0.9), det(1, 1, [0, 0, 10, 10], 0.8)]);
    expect(r.stats[0]).toBeCloseTo(0.5, 12);
    expect(r.stats[1]).toBeCloseTo(0.5, 12);
    // Ranked the other way round the false positive costs nothing.
    const r2 = cocoEvaluate(gt(1, [[1, 1, [0, 0, 10, 10]]]), [det(1, 1, [50, 50, 10, 10], 0.7), det(1, 1, [0, 0, 10, 10], 0.8)]);
    expect(r2.stats[0]).toBeCloseTo(1, 12);
  });

  it('IoU 0.78 counts at thresholds .50 to .75 only: mAP 0.6, AP50 1, AP75 1', () => {
    const r = cocoEvaluate(gt(1, [[1, 1, [0, 0, 10, 10]]]), [det(1, 1, [0, 0, 10, 7.8], 0.9)]);
    expect(r.stats[0]).toBeCloseTo(0.6, 12);
    expect(r.stats[1]).toBeCloseTo(1, 12);
    expect(r.stats[2]).toBeCloseTo(1, 12);
    // IoU 0.72: .50 to .70 (5 thresholds), not .75.
    const r2 = cocoEvaluate(gt(1, [[1, 1, [0, 0, 10, 10]]]), [det(1, 1, [0, 0, 10, 7.2], 0.9)]);
    expect(r2.stats[0]).toBeCloseTo(0.5, 12);
    expect(r2.stats[2]).toBeCloseTo(0, 12);
  });

  it('half the objects found: precision 1 up to recall 0.5 then 0, so AP = 51/101', () => {
    const r = cocoEvaluate(gt(1, [[1, 1, [0, 0, 10, 10]], [1, 1, [40, 40, 10, 10]]]), [det(1, 1, [0, 0, 10, 10], 0.9)]);
    expect(r.stats[0]).toBeCloseTo(51 / 101, 12);
    expect(r.stats[8]).toBeCloseTo(0.5, 12);
    // The curve itself: 1 at recall 0..0.5, 0 beyond; its mean is AP50.
    expect(r.prCurves50[0].map(round12)).toEqual(RECALL_THRESHOLDS.map((t) => (t <= 0.5 ? 1 : 0)));
  });

  it('categories are averaged: one perfect, one missed entirely, one without ground truth (left out)', () => {
    const r = cocoEvaluate(gt(1, [[1, 1, [0, 0, 10, 10]], [1, 2, [40, 40, 10, 10]]], 3), [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 3, [70, 70, 10, 10], 0.9)]);
    expect(r.stats[0]).toBeCloseTo(0.5, 12);
    [1, 0, -1].forEach((v, i) => expect(r.perCategory[i].ap).toBeCloseTo(v, 12));
    expect(r.prCurves50.map((c) => [Math.min(...c), Math.max(...c)].map(round12))).toEqual([[1, 1], [0, 0], [-1, -1]]);
  });

  it('a detection on a crowd region is ignored, not a false positive; a crowd region matches many detections', () => {
    const g = gt(1, [
      [1, 1, [0, 0, 10, 10]],
      [1, 1, [50, 50, 40, 40], 1],
    ]);
    const r = cocoEvaluate(g, [det(1, 1, [55, 55, 10, 10], 0.95), det(1, 1, [70, 70, 10, 10], 0.94), det(1, 1, [0, 0, 10, 10], 0.9)]);
    expect(r.stats[0]).toBeCloseTo(1, 12);
  });

  it('a detection matching nothing counts against precision; the same box on a non-crowd region would', () => {
    const g = gt(1, [
      [1, 1, [0, 0, 10, 10]],
      [1, 1, [50, 50, 40, 40]],
    ]);
    const r = cocoEvaluate(g, [det(1, 1, [55, 55, 10, 10], 0.95), det(1, 1, [0, 0, 10, 10], 0.9)]);
    // FP then TP with two objects: precision 1/2 at recall 1/2, nothing above.
    expect(r.stats[0]).toBeCloseTo(51 / 101 / 2, 12);
  });

  it('maxDets: AR@1 counts one detection per image, AR@10 all', () => {
    const r = cocoEvaluate(gt(1, [[1, 1, [0, 0, 10, 10]], [1, 1, [40, 40, 10, 10]]]), [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 1, [40, 40, 10, 10], 0.8)]);
    expect(r.stats[6]).toBeCloseTo(0.5, 12);
    expect(r.stats[7]).toBeCloseTo(1, 12);
  });

  it('area ranges by the ground truth area: small (< 32^2), medium, large (> 96^2)', () => {
    const g = gt(1, [
      [1, 1, [0, 0, 20, 20]],
      [1, 1, [100, 0, 50, 50]],
      [1, 1, [0, 100, 120, 120]],
    ]);
    // Small and large found, medium missed.
    const r = cocoEvaluate(g, [det(1, 1, [0, 0, 20, 20], 0.9), det(1, 1, [0, 100, 120, 120], 0.8)]);
    expect(r.stats[3]).toBeCloseTo(1, 12);
    expect(r.stats[4]).toBeCloseTo(0, 12);
    expect(r.stats[5]).toBeCloseTo(1, 12);
    // All areas: recall 1/3 then 2/3 at precision 1 -> thresholds 0 to 0.66 (67 of 101).
    expect(r.stats[0]).toBeCloseTo(67 / 101, 12);
  });

  it('refuses detections for images the ground truth does not have, naming the detection', () => {
    expect(() => cocoEvaluate(gt(1, [[1, 1, [0, 0, 10, 10]]]), [det(7, 1, [0, 0, 10, 10], 0.9)])).toThrow(/detection 1 \(image_id 7\)/);
  });

  it('prints the 12 lines of COCOeval.summarize()', () => {
    const lines = formatSummary([0.5, 1, 0.25, -1, 0.123456, 0, 0, 0, 0, 0, 0, 0]).split('\n');
    expect(lines).toHaveLength(12);
    expect(lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.500');
    expect(lines[3]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000');
    expect(lines[4]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.123');
    expect(lines[6]).toBe(' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.000');
  });

  it('30,000 categories over 30,000 images: only the pairs with boxes or detections are evaluated, the rest are -1', () => {
    // Every category against every image, and AP per category over all of them, took hours here.
    const n = 30_000;
    const r = cocoEvaluate(gt(n, [[7, 2, [0, 0, 10, 10]]], n), [det(7, 2, [0, 0, 10, 10], 0.9), det(9, 5, [0, 0, 10, 10], 0.8)]);
    [1, 1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1].forEach((v, i) => expect(r.stats[i]).toBeCloseTo(v, 12));
    expect(r.perCategory).toHaveLength(n);
    expect(r.perCategory.slice(0, 5).map((c) => c.ap)).toEqual([-1, r.perCategory[1].ap, -1, -1, -1]);
    expect(r.perCategory[1].ap).toBeCloseTo(1, 12);
    expect(r.prCurves50[n - 1].every((p) => p === -1)).toBe(true);
  });

  it('20,000 categories that each have a box and a detection: each is folded into the summary in turn', () => {
    // A table of all categories' precision held 4,040 values each: 100,000 such categories took 6.5 GB and 295 s, now 0.3 GB and 10 s.
    const n = 20_000;
    const boxes: Array<[number, number, number[]]> = Array.from({ length: n }, (_, i) => [1, i + 1, [i % 900, 10, 50, 50]]);
    const r = cocoEvaluate(gt(1, boxes, n), Array.from({ length: n }, (_, i) => det(1, i + 1, [i % 900, 12, 50, 50], 0.9)));
    // IoU 2400 / 2600 = 0.923: matched at nine of the ten thresholds; 50 x 50 is a medium box.
    [0.9, 1, 1, -1, 0.9, -1, 0.9, 0.9, 0.9, -1, 0.9, -1].forEach((v, i) => expect(r.stats[i]).toBeCloseTo(v, 12));
    expect(new Set(r.perCategory.map((c) => [c.ap, c.ap50].map((v) => v.toFixed(12)).join()))).toEqual(new Set([`${(0.9).toFixed(12)},${(1).toFixed(12)}`]));
    expect(r.prCurves50[n - 1].every((p) => Math.abs(p - 1) < 1e-12)).toBe(true);
  });
});

/** Random ground truth and jittered, duplicated and spurious detections. */
function randomCase(seed: number): { gt: CocoGt; dets: CocoDetection[] } {
  const rng = new Random(seed);
  const images = 12;
  const cats = 3;
  const anns: Array<[number, number, number[], number]> = [];
  const dets: CocoDetection[] = [];
  for (let img = 1; img <= images; img++) {
    const n = rng.int(6);
    for (let k = 0; k < n; k++) {
      const w = rng.uniform(4, 140);
      const h = rng.uniform(4, 140);
      const box = [rng.uniform(0, 300), rng.uniform(0, 300), w, h];
      const cat = 1 + rng.int(cats);
      anns.push([img, cat, box, rng.chance(0.1) ? 1 : 0]);
      const copies = rng.int(3);
      for (let c = 0; c < copies; c++) {
        const j = () => rng.uniform(-0.15, 0.15);
        // Scores on a coarse grid so that ties happen and the stable order matters.
        dets.push(det(img, rng.chance(0.85) ? cat : 1 + rng.int(cats), [box[0] + j() * w, box[1] + j() * h, w * (1 + j()), h * (1 + j())], Math.round(rng.uniform(0, 1) * 20) / 20));
      }
    }
    for (let k = rng.int(4); k > 0; k--) dets.push(det(img, 1 + rng.int(cats), [rng.uniform(0, 300), rng.uniform(0, 300), rng.uniform(4, 100), rng.uniform(4, 100)], Math.round(rng.uniform(0, 1) * 20) / 20));
  }
  // Many detections in one image so that maxDets=1/10/100 all cut.
  for (let k = 0; k < 130; k++) dets.push(det(1, 1, [rng.uniform(0, 300), rng.uniform(0, 300), rng.uniform(4, 100), rng.uniform(4, 100)], Math.round(rng.uniform(0, 1) * 50) / 50));
  const g = gt(images, anns, cats);
  return { gt: g, dets };
}

const python = '/usr/bin/python3';
const hasNumpy = fs.existsSync(python) && spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasNumpy)('cocoEvaluate against a plain numpy port of COCOeval (test/detection/cocoeval_port.py)', () => {
  const t = tempFiles({});
  it('agrees on the 12 numbers and the per-class precision-recall curves at IoU .5 for random detections (crowds, wrong classes, ties, > 100 per image)', () => {
    const cases = [1, 2, 3, 4].map(randomCase);
    const file = path.join(t.dir, 'cases.json');
    fs.writeFileSync(file, JSON.stringify(cases));
    const res = spawnSync(python, [path.join(__dirname, 'cocoeval_port.py'), file], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    const expected = JSON.parse(res.stdout) as Array<{ stats: number[]; pr50: number[][] }>;
    cases.forEach((c, i) => {
      const got = cocoEvaluate(c.gt, c.dets);
      got.stats.forEach((v, k) => expect(v).toBeCloseTo(expected[i].stats[k], 12));
      expect(got.prCurves50.length).toBe(expected[i].pr50.length);
      got.prCurves50.forEach((curve, k) => curve.forEach((v, r) => expect(v).toBeCloseTo(expected[i].pr50[k][r], 12)));
    });
    t.cleanup();
  });
});

describe('CocoEvaluator data', () => {
  it('evaluates a COCO-val-sized run: 2,000 images x 100 detections (it overflowed the call stack counting classes)', () => {
    const boxes = new Float32Array(400);
    for (let k = 0; k < 100; k++) boxes.set([k, k, k + 20, k + 20], 4 * k);
    const detections = Array.from({ length: 2000 }, (_, i) => ({
      imageId: i + 1,
      width: 200,
      height: 200,
      detections: { boxes, scores: new Float32Array(100).fill(0.5), labels: new Int32Array(100) },
      gt: i % 100 === 0 ? [{ bbox: [0, 0, 20, 20] as [number, number, number, number], label: 1 }] : [],
    }));
    const out = new CocoEvaluator({ save_detections: false, gallery: 0, gallery_score: 0.3 }).evaluate({ count: 2000, indices: new Int32Array(2000), detections }, { name: 'val' });
    // Two classes found from the labels (0 detected, 1 annotated); class 1 has no detections: AP 0.
    expect(out.mAP).toBe(0);
  }, 60_000);

  it('writes classes under the source category ids (so the detections file fits its instances file) and sample image ids', () => {
    const sample = {
      imageId: 42,
      width: 100,
      height: 80,
      detections: { boxes: Float32Array.of(10, 20, 30, 60), scores: Float32Array.of(0.5), labels: Int32Array.of(2) },
      gt: [{ bbox: [10, 20, 20, 40] as [number, number, number, number], label: 1 }],
    };
    const { gt, dets } = toCoco([sample], ['a', 'b', 'c'], [1, 7, 90]);
    expect(gt.categories).toEqual([
      { id: 1, name: 'a' },
      { id: 7, name: 'b' },
      { id: 90, name: 'c' },
    ]);
    expect(gt.annotations[0]).toMatchObject({ image_id: 42, category_id: 7, bbox: [10, 20, 20, 40], area: 800 });
    expect(dets).toEqual([{ image_id: 42, category_id: 90, bbox: [10, 20, 20, 40], score: 0.5 }]);
    expect(toCoco([{ ...sample, imageId: -1 }], ['a', 'b', 'c']).dets[0]).toMatchObject({ image_id: 1, category_id: 3 });
  });

  it('keeps the source\'s crowd regions and areas: a detection on a crowd is ignored, the size bucket is the annotation\'s', () => {
    const box = (x: number, y: number, w: number, h: number, label: number, area?: number) => ({ bbox: [x, y, w, h] as [number, number, number, number], label, area });
    const sample = {
      imageId: 5,
      width: 200,
      height: 200,
      // One found object, and a confident detection on a crowd of people.
      detections: { boxes: Float32Array.of(10, 10, 50, 50, 100, 100, 190, 190), scores: Float32Array.of(0.6, 0.9), labels: Int32Array.of(0, 0) },
      // A 40x40 box whose mask covers 900 pixels: small by COCO's rule (< 32²), not medium.
      gt: [box(10, 10, 40, 40, 0, 900)],
      crowd: [box(100, 100, 90, 90, 0)],
    };
    const { gt, dets } = toCoco([sample], ['person']);
    expect(gt.annotations.map((a) => [a.iscrowd, a.area])).toEqual([[0, 900], [1, 8100]]);
    const withCrowd = cocoEvaluate(gt, dets).stats;
    // AP 1: the crowd's detection is neither right nor wrong; it is small (APs 1, APm -1).
    expect([withCrowd[0], withCrowd[3], withCrowd[4]].map(round12)).toEqual([1, 1, -1]);
    // Without the crowd the same detection is a false positive ranked first: AP falls.
    const without = toCoco([{ ...sample, crowd: undefined }], ['person']);
    expect(cocoEvaluate(without.gt, without.dets).stats[0]).toBeLessThan(0.6);
  });
});
