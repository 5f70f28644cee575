/** The run report of a segmentor: overlays (image, truth, prediction) and SegEvaluator's per-class table. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import '../../src/builtins';
import { blendMask, colorizeMask } from '../../src/data/masks/overlay';
import { decodeMaskPng, vocPalette } from '../../src/data/masks/png';
import { Segmenter } from '../../src/export/predict';
import { ensureBackend } from '../../src/export/source';
import { generateReport } from '../../src/report/generate';
import type { GeneratedReport } from '../../src/report/model/report';
import { readReportData, reportImages } from '../../src/report/runFiles';
import { writeStandaloneReport } from '../../src/report/standalone';
import { tempFiles } from '../helpers/tmp';
import { ROOT } from '../export/helpers';
import { trainSampleRun } from './helpers';
import { buildWebviews, launchChromium, screenshot } from '../webview/browser';

const t = tempFiles({});
afterAll(() => t.cleanup());

const VAL = path.join(ROOT, 'data/shapes-seg-sample/val');
const VAL_MASKS = path.join(ROOT, 'data/shapes-seg-sample/masks/val');

async function rgbOf(file: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

describe('mask overlays', () => {
  it('blends the palette colour of each class over the image at the opacity; 255 keeps the image; grey images are drawn as RGB', () => {
    const palette = vocPalette();
    const image = { data: Uint8Array.from([100, 100, 100, 200, 10, 30, 0, 0, 0]), width: 3, height: 1, channels: 3 };
    const mask = { data: Uint8Array.from([0, 1, 255]), width: 3, height: 1 };
    // VOC colours: 0 black, 1 (128, 0, 0).
    expect(Array.from(blendMask(image, mask, palette).data)).toEqual([50, 50, 50, 164, 5, 15, 0, 0, 0]);
    expect(Array.from(blendMask(image, mask, palette, 0.25).data)).toEqual([75, 75, 75, 182, 8, 23, 0, 0, 0]);
    const grey = { data: Uint8Array.from([80, 80, 80]), width: 3, height: 1, channels: 1 };
    expect(Array.from(blendMask(grey, mask, palette).data)).toEqual([40, 40, 40, 104, 40, 40, 80, 80, 80]);
    expect(Array.from(colorizeMask(mask, palette).data)).toEqual([0, 0, 0, 128, 0, 0, 0, 0, 0]);
    expect(() => blendMask(image, { data: new Uint8Array(2), width: 2, height: 1 }, palette)).toThrow(/mask is 2x1 but the image 3x1/);
  });
});

describe('segmentation report', () => {
  let run: string;
  let report: GeneratedReport;

  beforeAll(async () => {
    await ensureBackend('wasm');
    const res = await trainSampleRun(path.join(t.dir, 'run'));
    expect(res.status).toBe('finished');
    run = res.runDir;
    report = (await generateReport(run, { gallery: 3 })).report;
  }, 240_000);

  it('has the per-class table of SegEvaluator (the same numbers as the evaluation of these weights)', () => {
    expect(report.task).toBe('segmentation');
    expect(report.retrieval).toBeUndefined();
    const m = report.segmentation!.metrics!;
    const evaluated = JSON.parse(fs.readFileSync(path.join(run, 'eval', 'val_seg_eval.json'), 'utf8'));
    expect(m.images).toBe(16);
    expect(m.per_class.map((c) => c.name)).toEqual(['background', 'circle', 'square', 'triangle']);
    expect({ mIoU: m.mIoU, mAcc: m.mAcc, aAcc: m.aAcc }).toEqual({ mIoU: evaluated.mIoU, mAcc: evaluated.mAcc, aAcc: evaluated.aAcc });
    expect(m.per_class).toEqual(evaluated.per_class);
    // Pixel frequency: each class's share of the labelled pixels of the 16 masks, counted here.
    const counts = [0, 0, 0, 0];
    for (const f of fs.readdirSync(VAL_MASKS)) for (const v of decodeMaskPng(fs.readFileSync(path.join(VAL_MASKS, f))).data) counts[v]++;
    const total = counts.reduce((a, b) => a + b, 0);
    expect(total).toBe(16 * 64 * 64);
    m.per_class.forEach((c, k) => {
      expect(c.pixels).toBe(counts[k]);
      expect(c.frequency).toBeCloseTo(counts[k] / total, 5);
    });
  });

  it('draws image, truth and prediction side by side with the palette blended over the image', async () => {
    const seg = report.segmentation!;
    expect(seg.overlays).toHaveLength(3);
    expect(seg.colors.slice(0, 2)).toEqual([
      [0, 0, 0],
      [128, 0, 0],
    ]);
    const files = fs.readdirSync(VAL).sort();
    const palette = vocPalette();
    const segmenter = new Segmenter(run);
    try {
      for (const ov of seg.overlays) {
        const image = await rgbOf(path.join(VAL, files[ov.index]));
        const truth = decodeMaskPng(fs.readFileSync(path.join(VAL_MASKS, files[ov.index])));
        const drawnTruth = await rgbOf(path.join(run, ov.truth!));
        expect(drawnTruth.width).toBe(64);
        // Hand-computed at every pixel: half the image, half the class colour.
        for (let i = 0; i < 64 * 64; i++) {
          for (let c = 0; c < 3; c++) expect(drawnTruth.data[3 * i + c]).toBe(Math.round(0.5 * image.data[3 * i + c] + 0.5 * palette[3 * truth.data[i] + c]));
        }
        const pred = await segmenter.predict(path.join(VAL, files[ov.index]));
        const drawnPred = await rgbOf(path.join(run, ov.prediction));
        expect(Buffer.from(drawnPred.data).equals(Buffer.from(blendMask({ ...image, channels: 3 }, { data: pred.mask, width: pred.width, height: pred.height }, palette).data))).toBe(true);
        expect(Buffer.from((await rgbOf(path.join(run, ov.image))).data).equals(Buffer.from(image.data))).toBe(true);
      }
    } finally {
      await segmenter.dispose();
    }
    const images = reportImages(report);
    for (const ov of seg.overlays) expect(images).toEqual(expect.arrayContaining([ov.image, ov.truth, ov.prediction]));
    const data = readReportData(run, (rel) => `uri:${rel}`);
    expect(data.images[seg.overlays[0].prediction]).toBe(`uri:${seg.overlays[0].prediction}`);
  });

  it('the report page shows the overlays and the per-class table with these numbers', async () => {
    const bundles = await buildWebviews();
    const file = writeStandaloneReport(run, path.join(bundles, 'webview', 'report.js'), path.join(t.dir, 'report.html'));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (e: Error) => errors.push(e.message));
      await page.goto(`file://${file}`);
      await page.waitForSelector('#cell-segmentation');
      await page.waitForFunction(() => Array.from(document.querySelectorAll('#cell-segmentation img')).every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 64));
      expect(await page.$$eval('#cell-segmentation .segmentation-row', (els: Element[]) => els.map((e) => e.querySelectorAll('img').length))).toEqual([3, 3, 3]);
      const m = report.segmentation!.metrics!;
      const rows = await page.$$eval('#seg-per-class-val tbody tr', (trs: Element[]) => trs.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent)));
      const pct = (v: number | null) => (v === null ? '' : (v * 100).toFixed(2));
      expect(rows).toEqual(m.per_class.map((c) => [c.name, pct(c.iou), pct(c.acc), pct(c.frequency)]));
      // The curves plot mIoU like any metric: the evaluation chart's series.
      await page.waitForSelector('#cell-curves figure[data-chart^="val"] canvas');
      expect(await page.$eval('#cell-curves figure[data-chart^="val"]', (f: Element) => f.textContent)).toMatch(/mIoU.*mAcc.*aAcc.*IoU\.background/s);
      // The legend: one swatch per class in its colour as drawn.
      const swatches = await page.$$eval('#segmentation-legend canvas', (cs: HTMLCanvasElement[]) => cs.map((c) => Array.from(c.getContext('2d')!.getImageData(6, 6, 1, 1).data.slice(0, 3))));
      expect(swatches).toEqual(report.segmentation!.colors);
      await screenshot(page, 'report-segmentation');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
