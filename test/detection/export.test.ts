/**
 * A detector through export and prediction: ONNX with the decode step (and NonMaxSuppression),
 * TF.js, the Detector predictor on each and on the run itself, `cvw predict --draw`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportModel } from '../../src/export/exportModel';
import { Detector } from '../../src/export/predict';
import { ensureBackend } from '../../src/export/source';
import { loadImage, Preprocessor } from '../../src/export/predict/images';
import { iouXyxy } from '../../src/models/algorithms/detection/boxes';
import { tempFiles } from '../helpers/tmp';
import { onnxCheck } from '../export/helpers';
import { SHAPES, cvw, detectorRun } from './helpers';

const t = tempFiles({});
afterAll(() => t.cleanup());
const images = [0, 1, 2, 3].map((i) => path.join(SHAPES, 'val', `00000${i}.png`));

/** Detections matching one to one: same label, score within 1e-4, box IoU > 0.999 (order may differ on near-equal scores). */
function expectSame(a: Array<{ box: number[]; score: number; label: number }>, b: Array<{ box: number[]; score: number; label: number }>): void {
  expect(a.length).toBe(b.length);
  const used = new Set<number>();
  for (const d of a) {
    const j = b.findIndex((e, k) => !used.has(k) && e.label === d.label && Math.abs(e.score - d.score) < 1e-4 && iouXyxy(e.box, d.box) > 0.999);
    expect(j, `no match for ${JSON.stringify(d)} in ${JSON.stringify(b)}`).toBeGreaterThanOrEqual(0);
    used.add(j);
  }
}

describe('YOLOX export and the Detector', () => {
  const run = path.join(t.dir, 'yolox', 'run');
  const onnx = path.join(t.dir, 'yolox.onnx');

  beforeAll(async () => {
    await ensureBackend('wasm');
    detectorRun(path.join(t.dir, 'yolox'));
  });

  it('exports to ONNX with decoded boxes and scores, and a detections output with --nms; the checker accepts it', async () => {
    const r = await exportModel(run, { format: 'onnx', out: onnx, nms: { iouThreshold: 0.65, scoreThreshold: 0.3, maxPerClass: 100 } });
    expect(r.metadata.task).toBe('detection');
    expect(r.metadata.classes).toEqual(['circle', 'square', 'triangle']);
    expect(Object.keys(r.metadata.outputs).sort()).toEqual(['boxes', 'detections', 'scores']);
    expect(r.metadata.outputs.boxes.shape).toEqual(['N', 12 * 12 + 6 * 6 + 3 * 3, 4]);
    expect(r.verified!.maxAbsDiff).toBeLessThan(1e-3);
    expect(onnxCheck(onnx)).toBe('');
  });

  it('the Detector gives the same boxes from the ONNX file, a TF.js export and the run itself, in image pixels', async () => {
    const tfjsDir = path.join(t.dir, 'tfjs');
    await exportModel(run, { format: 'tfjs', out: tfjsDir });
    // No suppression (IoU threshold 1): engines agree to 1e-5, and near-equal scores of an untrained
    // model would otherwise let rounding decide which of two boxes survives.
    const opts = { scoreThreshold: 0.3, nmsThreshold: 1, maxDetections: 1000 };
    const fromOnnx = await new Detector(onnx, opts).predict(images);
    const fromTfjs = await new Detector(tfjsDir, opts).predict(images);
    const fromRun = await new Detector(run, opts).predict(images);
    expect(fromOnnx.some((r) => r.detections.length > 0)).toBe(true);
    fromOnnx.forEach((r, i) => {
      expect([r.width, r.height]).toEqual([96, 96]);
      expectSame(fromTfjs[i].detections, r.detections);
      expectSame(fromRun[i].detections, r.detections);
      for (const d of r.detections) {
        expect(d.score).toBeGreaterThanOrEqual(0.3);
        expect(['circle', 'square', 'triangle']).toContain(d.name);
        expect(d.box[0]).toBeGreaterThanOrEqual(0);
        expect(d.box[2]).toBeLessThanOrEqual(96);
      }
    });
  });

  it("the ONNX graph's NonMaxSuppression keeps what the Detector keeps", async () => {
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const session = await ort.InferenceSession.create(onnx);
    const det = new Detector(onnx, { scoreThreshold: 0.3, nmsThreshold: 0.65 });
    const meta = await det.metadata();
    const pre = new Preprocessor(meta);
    const p = pre.prepare(await loadImage(images[0], 3, images[0]), images[0]);
    const chw = new Float32Array(p.data.length);
    const [H, W] = [p.height, p.width];
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) chw[c * H * W + y * W + x] = p.data[(y * W + x) * 3 + c];
    const out = await session.run({ images: new ort.Tensor('float32', chw, [1, 3, H, W]) });
    await session.release();
    const rows = out.detections.dims[0];
    const d = out.detections.data as Float32Array;
    // In-graph boxes are in network pixels, unclipped; the Detector clips to the image.
    const clip = (v: number) => Math.min(Math.max(v, 0), 96);
    const inGraph = Array.from({ length: rows }, (_, k) => ({ box: Array.from(d.subarray(7 * k + 1, 7 * k + 5), clip), score: d[7 * k + 5], label: d[7 * k + 6] }));
    const [mine] = await det.predict([images[0]]);
    expect(inGraph.length).toBeGreaterThan(0);
    // The letterbox is the identity here (96 px images): network pixels are image pixels.
    expectSame(inGraph, mine.detections);
    await det.dispose();
  });

  it('cvw predict prints detections and --draw writes each image with its boxes', async () => {
    const drawn = path.join(t.dir, 'drawn');
    const r = await cvw('predict', onnx, images[0], images[1], '--score-threshold', '0.02', '--draw', drawn);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/000000\.png\s+(no detections|(circle|square|triangle) 0\.\d{3} \[)/);
    const files = fs.readdirSync(drawn).sort();
    expect(files).toEqual(['000000.png', '000001.png']);
    const sharp = require('sharp');
    const meta = await sharp(path.join(drawn, '000000.png')).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([96, 96, 'png']);
    const j = await cvw('predict', onnx, images[0], '--json', '--score-threshold', '0.02');
    const rows = JSON.parse(j.out);
    expect(rows[0]).toMatchObject({ source: images[0], width: 96, height: 96 });
    expect(Array.isArray(rows[0].detections)).toBe(true);
  });

  it('refuses what does not fit: --draw without a detector, --nms on TF.js, bad thresholds', async () => {
    await expect(exportModel(run, { format: 'tfjs', out: path.join(t.dir, 'x'), nms: { iouThreshold: 0.5, scoreThreshold: 0.1, maxPerClass: 10 } })).rejects.toThrow(/in-graph NMS is for ONNX/);
    expect(() => new Detector(onnx, { scoreThreshold: 2 })).toThrow(/scoreThreshold must be between 0 and 1/);
    expect(await cvw('predict', onnx, images[0], '--score-threshold', '7')).toMatchObject({ code: 2, err: expect.stringContaining('--score-threshold must be between 0 and 1') });
    // An IoU ONNX's NonMaxSuppression refuses when it runs: refused before anything is written,
    // and the export there before stays (the failed verification replaced it).
    const before = fs.readFileSync(onnx);
    await expect(exportModel(run, { format: 'onnx', out: onnx, nms: { iouThreshold: 2, scoreThreshold: 0.3, maxPerClass: 100 } })).rejects.toThrow('NMS IoU threshold (--nms-iou): expected a number from 0 to 1, got 2');
    await expect(exportModel(run, { format: 'onnx', out: onnx, nms: { iouThreshold: 0.5, scoreThreshold: 0.3, maxPerClass: 0 } })).rejects.toThrow('NMS boxes per class (--max-per-class): expected a positive whole number, got 0');
    expect(fs.readFileSync(onnx).equals(before)).toBe(true);
    expect(fs.readdirSync(path.dirname(onnx)).filter((f) => f.includes('unverified'))).toEqual([]);
  });
});
