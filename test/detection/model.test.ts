import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { maxAbsDiff, useCpu } from '../helpers/tf';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { seedInit } from '../../src/models/nn';
import { maxPoolSame, spaceToDepth2 } from '../../src/models/backbones/cspDarknet';
import { batchTargets, type YOLOX } from '../../src/models/algorithms/detection/yolox';

beforeAll(async () => {
  await useCpu();
});

function yolox(size: string, numClasses: number, extra: Record<string, unknown> = {}): YOLOX {
  seedInit(0);
  return build<YOLOX>('model', { type: 'YOLOX', size, head: { type: 'YOLOXHead', num_classes: numClasses }, ...extra });
}

function count(m: { parameterCount(): number }): number {
  return m.parameterCount();
}

describe('YOLOX sizes', () => {
  // The reference (Megvii YOLOX: YOLOPAFPN + YOLOXHead) at 80 classes, counted with PyTorch.
  it.each([
    ['nano', 459968, 347424, 104767],
    ['tiny', 2372304, 1596096, 1087455],
    ['s', 4212672, 2834688, 1920895],
  ])('%s: backbone, neck and head have the reference parameter counts', (size, backbone, neck, head) => {
    const m = yolox(size, 80);
    expect([count(m.backbone), count(m.neck), count(m.head)]).toEqual([backbone, neck, head]);
    m.dispose();
  });

  it('names parameters as the reference modules do (weights map one to one)', () => {
    const m = yolox('nano', 3);
    const names = m.namedParameters().map(([n]) => n);
    expect(names).toContain('backbone.stem.conv.conv.weight');
    expect(names).toContain('backbone.dark5.1.conv2.bn.weight');
    expect(names).toContain('backbone.dark3.1.m.2.conv2.dconv.conv.weight');
    expect(names).toContain('neck.C3_n4.conv3.conv.weight');
    expect(names).toContain('head.obj_preds.2.bias');
    m.dispose();
  });

  it('predicts one row per cell of the three levels: (x, y, w, h, objectness, classes)', () => {
    const m = yolox('nano', 3);
    m.eval();
    const out = tf.tidy(() => m.decoded(tf.randomNormal([2, 64, 96, 3], 0, 1, 'float32', 1) as tf.Tensor4D));
    expect(out.shape).toEqual([2, 8 * 12 + 4 * 6 + 2 * 3, 8]);
    // Objectness and class probabilities start near the prior 0.01.
    const probs = tf.tidy(() => tf.mean(tf.slice(out, [0, 0, 4], [-1, -1, -1])).dataSync()[0]);
    expect(probs).toBeGreaterThan(0.002);
    expect(probs).toBeLessThan(0.05);
    out.dispose();
    m.dispose();
  });
});

describe('building blocks', () => {
  it('Focus: 2x2 blocks to channels in the order top-left, bottom-left, top-right, bottom-right', () => {
    const [n, h, w, c] = [2, 4, 6, 3];
    const x = tf.randomNormal([n, h, w, c], 0, 1, 'float32', 2) as tf.Tensor4D;
    const got = spaceToDepth2(x).arraySync() as number[][][][];
    const v = x.arraySync() as number[][][][];
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < h / 2; y++) {
        for (let xx = 0; xx < w / 2; xx++) {
          const expected = [
            ...v[b][2 * y][2 * xx],
            ...v[b][2 * y + 1][2 * xx],
            ...v[b][2 * y][2 * xx + 1],
            ...v[b][2 * y + 1][2 * xx + 1],
          ];
          expect(got[b][y][xx]).toEqual(expected);
        }
      }
    }
  });

  it('the stride-1 max-pool of SPP: same values, and in training the same gradient as the pooling kernel', () => {
    const x = tf.randomNormal([2, 5, 4, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    for (const k of [5, 9]) {
      const p = Math.floor(k / 2);
      const plain = (t: tf.Tensor) => tf.maxPool(tf.pad(t as tf.Tensor4D, [[0, 0], [p, p], [p, p], [0, 0]], -3.4e38) as tf.Tensor4D, k, 1, 'valid');
      expect(maxAbsDiff(maxPoolSame(x, k, true).dataSync(), plain(x).dataSync())).toBe(0);
      expect(maxAbsDiff(maxPoolSame(x, k, false).dataSync(), plain(x).dataSync())).toBe(0);
      const w = tf.randomNormal(plain(x).shape, 0, 1, 'float32', 4);
      const gMine = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(maxPoolSame(t as tf.Tensor4D, k, true), w)))(x);
      const gPlain = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(plain(t), w)))(x);
      expect(maxAbsDiff(gMine.dataSync(), gPlain.dataSync())).toBeLessThan(1e-6);
    }
  });
});

describe('YOLOX training step pieces', () => {
  it('multi-scale: a multiple of 32 in range, fixed within each interval', () => {
    const m = yolox('nano', 3, { multiscale: [64, 160], multiscale_interval: 10 });
    const sizes = Array.from({ length: 200 }, (_, i) => m.scaleAt(i, 96));
    for (const s of sizes) {
      expect(s % 32).toBe(0);
      expect(s).toBeGreaterThanOrEqual(64);
      expect(s).toBeLessThanOrEqual(160);
    }
    for (let i = 0; i < 200; i++) expect(sizes[i]).toBe(sizes[i - (i % 10)]);
    expect(new Set(sizes).size).toBeGreaterThan(2);
    m.dispose();
  });

  it('targets: boxes to centre form, scaled with the input, tiny ones dropped', () => {
    // Sizes are checked after scaling: 0.4 px wide becomes 0.8 px, under the 1 px limit.
    const t = batchTargets([[{ bbox: [10, 20, 30, 40], label: 2 }, { bbox: [0, 0, 0.4, 5], label: 0 }], []], 2, 2, 1);
    expect(t).toEqual([[{ cx: 50, cy: 80, w: 60, h: 80, label: 2 }], []]);
  });

  it('targets: at most max_labels per image, the first ones that pass the size filter', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => ({ bbox: [i % 50, 0, i % 3 === 0 ? 0.5 : 4, 4], label: i % 7 }));
    const [t] = batchTargets([many], 1, 1, 1, 120);
    expect(t).toHaveLength(120);
    // Every third box is under the size limit, so the 120 kept are boxes 1, 2, 4, 5, ... 179.
    expect(t[0]).toEqual({ cx: 3, cy: 2, w: 4, h: 4, label: 1 });
    expect(t[119].label).toBe(179 % 7);
  });

  it('max_labels: the reference\'s 120 by default, bounded so SimOTA\'s cost stays small', () => {
    const m = yolox('nano', 3);
    expect(m.params.max_labels).toBe(120);
    m.dispose();
    expect(() => yolox('nano', 3, { max_labels: 100_000 })).toThrow(/max_labels.*4096/s);
  });

  it('detect: at most max_per_img boxes per image, scores descending, corners ordered', () => {
    const m = yolox('nano', 3, { test_conf: 0, max_per_img: 7 });
    m.eval();
    const dets = m.detect(tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 6) as tf.Tensor4D);
    expect(dets).toHaveLength(2);
    for (const d of dets) {
      expect(d.scores.length).toBe(7);
      for (let k = 1; k < d.scores.length; k++) expect(d.scores[k]).toBeLessThanOrEqual(d.scores[k - 1]);
      for (let k = 0; k < d.scores.length; k++) {
        expect(d.boxes[4 * k + 2]).toBeGreaterThanOrEqual(d.boxes[4 * k]);
        expect(d.boxes[4 * k + 3]).toBeGreaterThanOrEqual(d.boxes[4 * k + 1]);
      }
    }
    m.dispose();
  });
});
