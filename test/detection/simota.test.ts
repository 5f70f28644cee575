import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import { tempFiles } from '../helpers/tmp';
import { Random } from '../../src/core/random';
import { geometryConstraint, simOta, type GtBox } from '../../src/models/algorithms/detection/simota';
import { anchorGrid, decodeBoxes, YOLOXHead, yoloxHeadParams } from '../../src/models/heads/yoloxHead';
import { seedInit } from '../../src/models/nn';

beforeAll(async () => {
  await useCpu();
});

/** One 4x4 level at stride 8 (a 32x32 input): anchor k is cell (k % 4, k // 4). */
const grid = anchorGrid([[4, 4]], [8]);

/** Predictions where every box is far away and tiny (IoU 0) except the given ones. */
function predictions(boxes: Record<number, [number, number, number, number]>, numClasses = 2) {
  const A = grid.count;
  const b = new Float32Array(A * 4);
  for (let a = 0; a < A; a++) b.set(boxes[a] ?? [500, 500, 1, 1], 4 * a);
  return { boxes: b, cls: new Float32Array(A * numClasses), obj: new Float32Array(A), numClasses };
}

describe('SimOTA on hand-made cases', () => {
  it('candidates: anchor centres strictly within 1.5 strides of the box centre', () => {
    const { candidates } = geometryConstraint([{ cx: 12, cy: 12, w: 8, h: 8, label: 0 }], grid, 1.5);
    // Centres 4, 12, 20 are within 12 px of 12; 28 is not.
    expect(candidates).toEqual([0, 1, 2, 4, 5, 6, 8, 9, 10]);
  });

  it('one box predicted exactly by one anchor: dynamic k = 1, that anchor, IoU target 1', () => {
    const a = simOta([{ cx: 12, cy: 12, w: 8, h: 8, label: 1 }], grid, predictions({ 5: [12, 12, 8, 8] }));
    expect(a).toEqual({ fg: [5], gt: [0], iou: [1] });
  });

  it('dynamic k is the integer part of the summed top IoUs: three anchors at IoU 0.8 give k = 2', () => {
    // 8x10 predictions around an 8x8 box: IoU 64/80 = 0.8 each; sum 2.4 -> k = 2, the cheapest two.
    const a = simOta([{ cx: 12, cy: 12, w: 8, h: 8, label: 0 }], grid, predictions({ 4: [12, 12, 8, 10], 5: [12, 12, 8, 10], 6: [12, 12, 8, 10] }));
    expect(a.fg).toHaveLength(2);
    // Equal costs: the lower indices first.
    expect(a.fg).toEqual([4, 5]);
    a.iou.forEach((v) => expect(v).toBeCloseTo(0.8, 6));
  });

  it('an anchor two boxes both want goes to the cheaper one', () => {
    const gts: GtBox[] = [
      { cx: 12, cy: 12, w: 8, h: 8, label: 0 },
      { cx: 13, cy: 12, w: 8, h: 8, label: 0 },
    ];
    // Anchor 5 predicts gt 1 exactly (IoU 1 with it, 7/9 with gt 0); each gt's k is 1.
    const a = simOta(gts, grid, predictions({ 5: [13, 12, 8, 8] }));
    expect(a.fg).toEqual([5]);
    expect(a.gt).toEqual([1]);
    expect(a.iou[0]).toBeCloseTo(1, 6);
  });

  it('no ground truth: no foreground', () => {
    expect(simOta([], grid, predictions({}))).toEqual({ fg: [], gt: [], iou: [] });
  });
});

const python = '/usr/bin/python3';
const hasTorch = fs.existsSync(python) && spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasTorch)('YOLOXHead.loss against a PyTorch port of the reference (test/detection/yolox_reference.py)', () => {
  it('same assignments and losses on random outputs and boxes, with and without L1', () => {
    const t = tempFiles({});
    const levels: Array<[number, number]> = [
      [8, 8],
      [4, 4],
      [2, 2],
    ];
    const strides = [8, 16, 32];
    const g = anchorGrid(levels, strides);
    const C = 3;
    const rng = new Random(7);
    const cases = [0, 1, 2].map((k) => {
      const B = 2;
      const raw = Array.from({ length: B }, () => Array.from({ length: g.count }, () => Array.from({ length: 5 + C }, (_, j) => Math.fround(j < 4 ? rng.normal(0, 0.5) : rng.normal(0, 2)))));
      const gts = Array.from({ length: B }, (_, b) =>
        b === 1 && k === 2
          ? []
          : Array.from({ length: 1 + rng.int(4) }, () => {
              const w = rng.uniform(6, 40);
              const h = rng.uniform(6, 40);
              return [rng.uniform(w / 2, 64 - w / 2), rng.uniform(h / 2, 64 - h / 2), w, h, rng.int(C)].map((v, i) => (i < 4 ? Math.fround(v) : v));
            }),
      );
      return { raw, xs: Array.from(g.xs), ys: Array.from(g.ys), strides: Array.from(g.strides), gts, num_classes: C, use_l1: k === 1 };
    });
    const file = path.join(t.dir, 'cases.json');
    fs.writeFileSync(file, JSON.stringify(cases));
    const res = spawnSync(python, [path.join(__dirname, 'yolox_reference.py'), file], { encoding: 'utf8' });
    t.cleanup();
    expect(res.stderr).toBe('');
    const expected = JSON.parse(res.stdout);
    seedInit(0);
    const head = new YOLOXHead(yoloxHeadParams.parse({ num_classes: C, in_channels: [4, 4, 4], feat_channels: 4 }));
    cases.forEach((c, i) => {
      head.useL1 = c.use_l1;
      const raw = tf.tensor3d(c.raw);
      const gts = c.gts.map((list) => list.map(([cx, cy, w, h, label]) => ({ cx, cy, w, h, label })));
      const out = head.loss({ raw, levels }, gts);
      const e = expected[i];
      const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
      expect(rel(out.loss.dataSync()[0], e.loss)).toBeLessThan(1e-4);
      for (const k of ['iou_loss', 'obj_loss', 'cls_loss', 'l1_loss', 'num_fg']) expect(rel(out.logs[k].dataSync()[0], e[k])).toBeLessThan(1e-4);
      // Assignments image by image.
      c.gts.forEach((list, b) => {
        const data = c.raw[b];
        const boxes = tf.tidy(() => decodeBoxes(tf.slice(raw, [b, 0, 0], [1, -1, -1]), g).dataSync() as Float32Array);
        const a = simOta(gts[b], g, { boxes, cls: Float32Array.from(data.flatMap((r) => r.slice(5))), obj: Float32Array.from(data.map((r) => r[4])), numClasses: C });
        expect(a.fg).toEqual(e.assign[b].fg);
        expect(a.gt).toEqual(e.assign[b].gt);
        a.iou.forEach((v: number, j: number) => expect(v).toBeCloseTo(e.assign[b].iou[j], 5));
        void list;
      });
      tf.dispose([raw, out.loss, ...Object.values(out.logs)]);
    });
    head.dispose();
  });
});
