/**
 * SegEvaluator at the source image's resolution (mmsegmentation's IoUMetric) against the
 * evaluation pipeline's: a 24x20 image resized to 16x16, a model whose logits are known, so both
 * confusion tables are worked out by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/builtins';
import { register } from '../../src/core/registry';
import { loadSharp } from '../../src/data/decode';
import { createLoader } from '../../src/data/loader';
import { encodeMaskPng } from '../../src/data/masks/png';
import { cropResizeMask } from '../../src/data/pipeline/masks';
import type { PipelineStep, ViewState } from '../../src/data/pipeline';
import { collectPredictions } from '../../src/eval/predict';
import { SegEvaluator, segEvaluatorParams } from '../../src/eval/segEvaluator';
import type { Algorithm } from '../../src/models/algorithms/types';
import { tempFiles } from '../helpers/tmp';
import { useCpu } from '../helpers/tf';

const t = tempFiles({});
afterAll(() => t.cleanup());
beforeAll(async () => {
  await useCpu();
});

const W = 24;
const H = 20;

/** Class 1 from column 10 on, in rows 0-14; rows 15-19 ignored (255). */
function sourceMask(): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) m[y * W + x] = y >= 15 ? 255 : x >= 10 ? 1 : 0;
  return m;
}

/** A "segmentor" whose logits at view column u are [0, u - 7.3]: class 1 right of u = 7.3, a boundary between pixels in both resolutions. */
const model = {
  training: false,
  eval() {},
  train() {},
  segment(images: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w] = images.shape;
    const data = new Float32Array(n * h * w * 2);
    for (let i = 0; i < n * h * w; i++) data[2 * i + 1] = (i % w) - 7.3;
    return tf.tensor4d(data, [n, h, w, 2]);
  },
} as unknown as Algorithm;

async function evaluate(params: Record<string, unknown>, pipeline: unknown[], workers = 0) {
  const evaluator = new SegEvaluator(segEvaluatorParams.parse(params));
  const loader = await createLoader({
    dataset: { type: 'SegDataset', batch_size: 2, source: { type: 'SegFolder', root: t.dir, classes: ['bg', 'fg'] }, pipeline },
    data: { workers, prefetch: 1, skip_corrupt: false },
    split: 'val',
    seed: 0,
    sourceMasks: evaluator.needs.includes('sourceSegmentation' as never),
  });
  try {
    const predictions = await collectPredictions(model, loader, new Set(evaluator.needs));
    return { predictions, metrics: evaluator.evaluate(predictions, { name: 'val', outDir: t.dir }), file: JSON.parse(fs.readFileSync(path.join(t.dir, 'val_seg_eval.json'), 'utf8')) };
  } finally {
    await loader.close();
  }
}

describe('SegEvaluator resolution', () => {
  beforeAll(async () => {
    fs.mkdirSync(path.join(t.dir, 'images'), { recursive: true });
    fs.mkdirSync(path.join(t.dir, 'masks'));
    const sharp = loadSharp();
    // Two images (a batch of two samples), the same mask.
    for (const name of ['a', 'b']) {
      await sharp(new Uint8Array(W * H * 3).fill(name === 'a' ? 40 : 200), { raw: { width: W, height: H, channels: 3 } })
        .png()
        .toFile(path.join(t.dir, 'images', `${name}.png`));
      fs.writeFileSync(path.join(t.dir, 'masks', `${name}.png`), encodeMaskPng({ data: sourceMask(), width: W, height: H }));
    }
  });

  const resize = [{ type: 'Resize', size: [16, 16] }, { type: 'ToTensor' }, { type: 'Normalize' }];

  it('source (the default): logits resized back to 24x20 and scored against the mask as decoded', async () => {
    const { metrics, file, predictions } = await evaluate({}, resize);
    // Source column x is view u = (16/24)(x + 0.5) - 0.5, class 1 where u > 7.3: x >= 12 (x = 11 gives 7.17).
    // Per labelled row (15 of them): truth 0 x 0-9 all predicted 0 (10), truth 1 x 10-11 predicted 0 (2), x 12-23 predicted 1 (12).
    // bg: I 150, label 150, predicted 180 -> 5/6; fg: I 180, label 210, predicted 180 -> 6/7; aAcc 330/360.
    expect(metrics.mIoU).toBeCloseTo((5 / 6 + 6 / 7) / 2, 12);
    expect(metrics['IoU.bg']).toBeCloseTo(5 / 6, 12);
    expect(metrics['IoU.fg']).toBeCloseTo(6 / 7, 12);
    expect(metrics.aAcc).toBeCloseTo(11 / 12, 12);
    const c = predictions.sourceSegmentation!.confusion;
    expect([c[0], c[1], c[2], c[3]]).toEqual([2 * 150, 0, 2 * 30, 2 * 180]);
    expect(c[255 * 2] + c[255 * 2 + 1]).toBe(2 * 5 * W);
    expect(predictions.segmentation).toBeUndefined();
    expect(file).toMatchObject({ resolution: 'source', uncovered_pixels: 0, images: 2 });
    expect(file.per_class.map((r: { pixels: number }) => r.pixels)).toEqual([2 * 150, 2 * 210]);
  });

  it('pipeline: scored at the 16x16 mask, which gives other numbers', async () => {
    const { metrics, file } = await evaluate({ resolution: 'pipeline' }, resize);
    // The mask resized nearest (PIL): view column u takes source column floor(1.5u + 0.75), class 1 from u = 7;
    // view row v takes source row floor(1.25v + 0.625), labelled for v <= 11 (12 rows). Class 1 predicted from u = 8.
    // Per row: truth 0 u 0-6 (7), truth 1 u 7 predicted 0 (1), u 8-15 predicted 1 (8): bg 84/96 = 7/8, fg 96/108 = 8/9.
    const resized = cropResizeMask({ data: sourceMask(), width: W, height: H }, 0, 0, W, H, 16, 16);
    expect(Array.from(resized.data.subarray(0, 16)).indexOf(1)).toBe(7);
    expect(resized.data[11 * 16]).toBe(0);
    expect(resized.data[12 * 16]).toBe(255);
    expect(metrics['IoU.bg']).toBeCloseTo(7 / 8, 12);
    expect(metrics['IoU.fg']).toBeCloseTo(8 / 9, 12);
    expect(metrics.mIoU).not.toBeCloseTo((5 / 6 + 6 / 7) / 2, 3);
    expect(file).toMatchObject({ resolution: 'pipeline' });
    expect(file.uncovered_pixels).toBeUndefined();
  });

  it('source pixels a CenterCrop cut off are left out and counted (masks and frames from a decoding worker)', async () => {
    // 24x20 -> CenterCrop 16x16 (left 4, top 2): source columns 4-19 and rows 2-17 are seen, at scale 1.
    const { metrics, file, predictions } = await evaluate({}, [{ type: 'CenterCrop', size: 16 }, { type: 'ToTensor' }], 1);
    expect(predictions.sourceSegmentation!.uncovered).toBe(2 * (W * H - 16 * 16));
    expect(file.uncovered_pixels).toBe(2 * (W * H - 16 * 16));
    // Rows 2-14 labelled (13); view u = x - 4, class 1 predicted where x - 4 > 7.3: x >= 12. Per row: bg x 4-9 (6), fg x 10-11 missed (2), x 12-19 (8).
    expect(metrics['IoU.bg']).toBeCloseTo(6 / 8, 12);
    expect(metrics['IoU.fg']).toBeCloseTo(8 / 10, 12);
  });

  it('names a step that resizes the image without saying where its pixels come from', async () => {
    register('pipeline', {
      type: 'TestHalveNoFrame',
      description: 'test: halves the image and its mask, leaves the frame alone',
      params: z.strictObject({}),
      build: (): PipelineStep => ({
        type: 'TestHalveNoFrame',
        apply(state: ViewState) {
          const { width, height, channels } = state.img;
          const w = Math.floor(width / 2);
          const h = Math.floor(height / 2);
          state.img = { ...state.img, data: new Float32Array(w * h * channels), width: w, height: h };
          if (state.mask) state.mask = cropResizeMask(state.mask, 0, 0, width, height, w, h);
        },
      }),
    });
    await expect(evaluate({}, [{ type: 'TestHalveNoFrame' }, { type: 'ToTensor' }])).rejects.toThrow(/TestHalveNoFrame changes the image size but not its frame .*resolution: pipeline/);
    // Scoring at the pipeline's size does not need the frame.
    const { metrics } = await evaluate({ resolution: 'pipeline' }, [{ type: 'TestHalveNoFrame' }, { type: 'ToTensor' }]);
    expect(metrics.mIoU).toBeGreaterThan(0);
  });
});
