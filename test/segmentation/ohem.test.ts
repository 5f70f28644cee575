/** OHEM for the pixel loss: mmsegmentation's OHEMPixelSampler, by hand and against a numpy port of it. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { ohemPixelWeights } from '../../src/models/losses/ohem';
import { pixelCrossEntropy, type PixelLoss } from '../../src/models/losses/pixelCrossEntropy';
import { seedInit } from '../../src/models/nn';
import type { EncoderDecoder } from '../../src/models/algorithms/segmentation/encoderDecoder';
import { pythonHas, runPython } from '../data/python';

beforeAll(async () => {
  await useCpu();
});

/** A deterministic pseudo-random sequence (no ties in practice). */
function values(n: number, seed: number, scale = 3): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * scale;
  });
}

describe('OHEM pixel sampling', () => {
  it('keeps the pixels unsure of their class (thresh), at least min_kept per image, by hand', () => {
    // Two classes, 1 x 1 x 5 pixels; p(true class) = sigmoid(logit difference).
    const d = [3, 1, -1, 0.2, 2.5];
    const logits = tf.tensor4d(d.flatMap((v) => [v, 0]), [1, 1, 5, 2]);
    const labels = tf.tensor3d([0, 0, 0, 255, 1], [1, 1, 5], 'int32');
    const p = [1 / (1 + Math.exp(-3)), 1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(1)), NaN, 1 / (1 + Math.exp(2.5))];
    // p = [0.953, 0.731, 0.269, -, 0.076]; sorted labelled: 0.076, 0.269, 0.731, 0.953.
    const keep = (thresh: number | undefined, minKept: number) => Array.from(ohemPixelWeights(logits, labels, { thresh, minKept, ignoreIndex: 255 }).dataSync());
    // thresh 0.7 above sorted[1] = 0.269: the pixels below 0.7.
    expect(keep(0.7, 1)).toEqual([0, 0, 1, 0, 1]);
    // min_kept 2: sorted[2] = 0.731 > 0.7, so the threshold is 0.731 (strictly below: 2 pixels kept).
    expect(keep(0.7, 2)).toEqual([0, 0, 1, 0, 1]);
    // min_kept 3: sorted[3] = 0.953: three pixels.
    expect(keep(0.7, 3)).toEqual([0, 1, 1, 0, 1]);
    // More asked than labelled: sorted[numel - 1] = 0.953, still strictly below.
    expect(keep(0.7, 10)).toEqual([0, 1, 1, 0, 1]);
    // thresh 0.1 below sorted[1] = 0.269: the threshold is 0.269, and only 0.076 is below it.
    expect(keep(0.1, 1)).toEqual([0, 0, 0, 0, 1]);
    // No thresh: the min_kept largest losses (-log p), never an ignored pixel.
    expect(keep(undefined, 1)).toEqual([0, 0, 0, 0, 1]);
    expect(keep(undefined, 2)).toEqual([0, 0, 1, 0, 1]);
    expect(keep(undefined, 9)).toEqual([1, 1, 1, 0, 1]);
    // The loss: only kept pixels in the sum, divided by all labelled ones (mmseg's avg_non_ignore).
    const loss = pixelCrossEntropy(logits as tf.Tensor4D, labels as tf.Tensor3D, { ignoreIndex: 255, lossWeight: 1, ohem: { thresh: 0.7, minKept: 1 } }).dataSync()[0];
    expect(loss).toBeCloseTo((-Math.log(p[2]) - Math.log(p[4])) / 4, 6);
    // Class weights: the loss order changes with them (class 0 x 10 makes pixel 2 the hardest).
    expect(Array.from(ohemPixelWeights(logits, labels, { minKept: 1, ignoreIndex: 255, classWeight: [10, 1] }).dataSync())).toEqual([0, 0, 1, 0, 0]);
  });

  it('adds no gradient of its own: the kept pixels get the cross-entropy gradient, the others none', () => {
    const logits = tf.tensor4d(values(2 * 3 * 4 * 3, 7), [2, 3, 4, 3]);
    const labels = tf.tensor3d(values(24, 8).map((v) => (v > 2 ? 255 : Math.floor(((v + 3) / 5) * 3) % 3)), [2, 3, 4], 'int32');
    const o = { ignoreIndex: 255, lossWeight: 1, ohem: { thresh: 0.5, minKept: 3 } };
    const g = tf.grad((x: tf.Tensor) => pixelCrossEntropy(x as tf.Tensor4D, labels, o))(logits);
    const kept = Array.from(ohemPixelWeights(logits, labels, { ...o.ohem, ignoreIndex: 255 }).dataSync());
    const grads = tf.reshape(g, [24, 3]).arraySync() as number[][];
    const valid = (labels.dataSync() as Int32Array).filter((v) => v !== 255).length;
    const probs = tf.softmax(tf.reshape(logits, [24, 3])).arraySync() as number[][];
    const lab = labels.dataSync();
    expect(kept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
    grads.forEach((row, i) => {
      // d/dz of -log softmax(z)[y] / valid = (p - onehot(y)) / valid on kept pixels.
      row.forEach((v, c) => expect(v).toBeCloseTo(kept[i] ? (probs[i][c] - (c === lab[i] ? 1 : 0)) / valid : 0, 6));
    });
  });

  it.skipIf(!pythonHas('numpy'))('agrees with a numpy port of OHEMPixelSampler.sample and the weighted loss on random batches', () => {
    // mmseg/core/seg/sampler/ohem_pixel_sampler.py (v0.30) and cross_entropy with avg_non_ignore.
    const script = `
import json, sys
import numpy as np
cases = json.load(sys.stdin)
out = []
for c in cases:
    n, h, w, k = c['shape']
    logit = np.array(c['logits'], dtype=np.float64).reshape(n, h, w, k)
    label = np.array(c['labels']).reshape(n, h, w)
    ignore, thresh, min_kept = 255, c['thresh'], c['min_kept']
    batch_kept = min_kept * n
    valid = label != ignore
    weight = np.zeros(label.shape)
    tmp = np.where(valid, label, 0)
    e = np.exp(logit - logit.max(-1, keepdims=True))
    prob = e / e.sum(-1, keepdims=True)
    logp = np.log(prob)
    ce = -np.take_along_axis(logp, tmp[..., None], -1)[..., 0]
    cw = np.array(c['class_weight']) if c['class_weight'] else np.ones(k)
    vw = weight[valid]
    if thresh is not None:
        p = np.take_along_axis(prob, tmp[..., None], -1)[..., 0]
        sort_prob = np.sort(p[valid])
        min_threshold = sort_prob[min(batch_kept, sort_prob.size - 1)] if sort_prob.size > 0 else 0.0
        threshold = max(min_threshold, thresh)
        vw[p[valid] < threshold] = 1.0
    else:
        losses = (ce * cw[tmp])[valid]
        order = np.argsort(-losses, kind='stable')
        vw[order[:batch_kept]] = 1.0
    weight[valid] = vw
    pix = cw[tmp] * valid
    # mmseg weight_reduce_loss with avg_factor = the labelled pixels (avg_non_ignore=True)
    loss = (ce * pix * weight).sum() / max(valid.sum(), 1)
    out.append({'weight': weight.reshape(-1).tolist(), 'loss': float(loss)})
print(json.dumps(out))
`;
    const cases: Array<{ shape: number[]; logits: number[]; labels: number[]; thresh: number | null; min_kept: number; class_weight: number[] | null }> = [];
    const shape = [2, 6, 5, 4];
    const size = shape[0] * shape[1] * shape[2];
    for (const [i, [thresh, minKept, cw]] of ([
      [0.7, 5, null],
      [0.7, 40, null],
      [0.3, 1, null],
      [0.95, 100, null],
      [null, 7, null],
      [null, 7, [0.5, 2, 1, 1.5]],
      [0.6, 12, [0.5, 2, 1, 1.5]],
      [null, 100, null],
    ] as Array<[number | null, number, number[] | null]>).entries()) {
      const labels = values(size, 100 + i).map((v) => (v > 2.4 ? 255 : Math.floor(((v + 3) / 5.4) * 4) % 4));
      cases.push({ shape, logits: values(size * 4, 200 + i), labels, thresh, min_kept: minKept, class_weight: cw });
    }
    const ref = JSON.parse(runPython(script, [], JSON.stringify(cases))) as Array<{ weight: number[]; loss: number }>;
    cases.forEach((c, i) => {
      const logits = tf.tensor4d(c.logits, c.shape as [number, number, number, number]);
      const labels = tf.tensor3d(c.labels, [2, 6, 5], 'int32');
      const ohem = { thresh: c.thresh ?? undefined, minKept: c.min_kept };
      const kept = Array.from(ohemPixelWeights(logits, labels, { ...ohem, ignoreIndex: 255, classWeight: c.class_weight ?? undefined }).dataSync());
      expect(kept, `case ${i}`).toEqual(ref[i].weight);
      expect(ref[i].weight.some((v) => v === 0) && ref[i].weight.some((v) => v === 1)).toBe(true);
      const loss = pixelCrossEntropy(logits, labels, { ignoreIndex: 255, lossWeight: 1, classWeight: c.class_weight ?? undefined, ohem }).dataSync()[0];
      expect(loss).toBeCloseTo(ref[i].loss, 5);
      tf.dispose([logits, labels]);
    });
  });

  it('is an option of the decode head\'s loss in a config (ohem: {thresh, min_kept}), and trains', () => {
    const loss = build<PixelLoss>('loss', { type: 'PixelCrossEntropyLoss', ohem: { thresh: 0.7, min_kept: 2 } });
    const logits = tf.tensor4d([3, 0, 1, 0, -1, 0, 0.2, 0, 2.5, 0], [1, 1, 5, 2]);
    const labels = tf.tensor3d([0, 0, 0, 255, 1], [1, 1, 5], 'int32');
    expect(loss(logits, labels).dataSync()[0]).toBeCloseTo(pixelCrossEntropy(logits, labels, { ignoreIndex: 255, lossWeight: 1, ohem: { thresh: 0.7, minKept: 2 } }).dataSync()[0], 7);
    expect(() => build('loss', { type: 'PixelCrossEntropyLoss', ohem: { thresh: 1.5 } })).toThrow(/thresh/);
    seedInit(0);
    const m = build<EncoderDecoder>('model', {
      type: 'EncoderDecoder',
      backbone: { type: 'ResNet', depth: 18, out_indices: [3], output_stride: 8, base_width: 8 },
      decode_head: { type: 'FCNHead', num_classes: 3, channels: 8, num_convs: 1, loss: { type: 'PixelCrossEntropyLoss', ohem: { thresh: 0.7, min_kept: 20 } } },
    });
    const img = tf.tensor4d(values(2 * 16 * 16 * 3, 3, 1), [2, 16, 16, 3]);
    const mask = Uint8Array.from(values(2 * 16 * 16, 4).map((v) => (v > 0 ? 1 : 0)));
    m.train();
    const { value, grads } = tf.variableGrads(() => m.trainStep({ views: [img], raw: { views: [], indices: Int32Array.from([0, 1]), masks: { data: mask, shape: [2, 16, 16] } } }).loss);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(Object.values(grads).some((g) => tf.max(tf.abs(g)).dataSync()[0] > 0)).toBe(true);
    m.dispose();
  });
});
