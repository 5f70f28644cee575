/**
 * Compare Runs' "Per class" and "Predictions that differ" sections in Chromium, fed by a fake host
 * with two runs whose eval folders ClsEvaluator wrote (numbers worked out by hand) and a report
 * thumbnail of one changed image. Screenshot: test-results/webview/compare-per-class.png.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CocoEvaluator, cocoEvaluatorParams } from '../../src/eval/coco';
import type { DetectionSample } from '../../src/eval/evaluator';
import { HostMessageType, PanelKind } from '../../src/extension/protocol';
import { readClassComparison } from '../../src/report/evalFiles';
import { reportThumbnail } from '../../src/report/model/report';
import { encodePng } from '../../src/report/png';
import { readRunSnapshot } from '../../src/report/runFiles';
import { writeStandaloneReport } from '../../src/report/standalone';
import { writeReportComparison } from '../../src/report/evalFiles';
import { writeClsEvaluation } from '../helpers/clsEvaluation';
import { buildWebviews, jsonMessage, launchChromium, screenshot, servePanels, type PanelServer } from './browser';
import { writeRunDir } from './fixtures/syntheticRun';

let server: PanelServer;
let bundles: string;
let browser: any;
let work: string;
let runA: string;
let runB: string;

beforeAll(async () => {
  bundles = await buildWebviews();
  server = await servePanels(bundles);
  browser = await launchChromium();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-compare-classes-'));
  const wd = path.join(work, 'work_dirs');
  runA = await writeRunDir(wd, { iters: 100, epochs: 2, logInterval: 10, runId: '20261128-100000', seed: 1 });
  runB = await writeRunDir(wd, { iters: 100, epochs: 2, logInterval: 10, runId: '20261128-110000', seed: 2 });
  // Images 10..13: cat, cat, dog, fox. A says cat, dog, dog, fox; B (classes in another order) cat, cat, fox, fox.
  writeClsEvaluation(runA, { classes: ['cat', 'dog', 'fox'], labels: [0, 0, 1, 2], predicted: [0, 1, 1, 2], indices: [10, 11, 12, 13] });
  writeClsEvaluation(runB, { classes: ['dog', 'cat', 'fox'], labels: [1, 1, 0, 2], predicted: [1, 1, 2, 2], indices: [10, 11, 12, 13] });
  const thumb = path.join(runA, reportThumbnail('val', 11));
  fs.mkdirSync(path.dirname(thumb), { recursive: true });
  const px = new Uint8Array(16 * 16 * 3).map((_, i) => (i % 3 === 0 ? 200 : 40));
  fs.writeFileSync(thumb, encodePng(px, 16, 16, 3));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('compare runs, class by class', () => {
  test('confusion matrices side by side with their difference, per-class bars and table, and the images predicted differently', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e: Error) => errors.push(e.message));
    await page.goto(server.url('compare', { kind: PanelKind.Compare, dirs: [runA, runB], chart: { x: 'iter', smoothing: 0, logScale: false } }));
    await page.waitForFunction(() => (window as any).__posted.some((m: any) => m.type === 'ready'));
    const classes = readClassComparison([runA, runB], { imageUri: (dir, rel) => `${server.origin}/files${path.join(dir, rel)}` });
    await page.evaluate((x: unknown) => (window as any).__send(x), jsonMessage({ type: HostMessageType.CompareRuns, runs: [readRunSnapshot(runA), readRunSnapshot(runB)], classes }));
    await page.waitForSelector('#per-class figure[data-chart="per-class:val:accuracy"] canvas');

    // Two matrices in percent of each true class, then B − A.
    expect(await page.$$eval('#per-class .heatmap-cell .muted', (els: Element[]) => els.map((e) => e.textContent))).toEqual([
      '20261128-100000 (% of each true class)',
      '20261128-110000 (% of each true class)',
      '20261128-110000 − 20261128-100000 (points)',
    ]);
    // The difference's dog row: dog → dog lost 100 points (red), dog → fox gained 100 (green). Cells counted from the canvas' bottom-right corner.
    const diffCell = (r: number, c: number) =>
      page.$eval(
        '#per-class figure[data-diff="1"] canvas',
        (canvas: HTMLCanvasElement, [r, c]: number[]) => {
          const dpr = window.devicePixelRatio || 1;
          const n = 3;
          const cell = 40;
          const w = canvas.width / dpr;
          const hgt = canvas.height / dpr;
          const x = (w - 8 - (n - c) * cell + 4) * dpr;
          const y = (hgt - 8 - (n - r) * cell + 4) * dpr;
          return Array.from(canvas.getContext('2d')!.getImageData(Math.round(x), Math.round(y), 1, 1).data);
        },
        [r, c],
      );
    const [lost, gained, same] = [await diffCell(1, 1), await diffCell(1, 2), await diffCell(2, 2)];
    expect(lost[0]).toBeGreaterThan(lost[1] + 40);
    expect(gained[1]).toBeGreaterThan(gained[0] + 40);
    expect(Math.abs(same[0] - same[1])).toBeLessThan(30);

    // Per-class accuracy: A 50, 100, 100; B 100, 0, 100 (its dog called fox).
    const rows = await page.$$eval('#per-class-val-accuracy-table tbody tr', (trs: Element[]) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    expect(rows).toEqual([
      ['cat', '50.0', '100.0', '+50.0'],
      ['dog', '100.0', '0.0', '-100.0'],
      ['fox', '100.0', '100.0', '0.0'],
    ]);
    const ink = await page.$eval('figure[data-chart="per-class:val:accuracy"] canvas', (c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    expect(ink).toBeGreaterThan(1000);

    // Images 11 (fixed by B, with A's report thumbnail) and 12 (broken by B).
    expect(await page.$eval('.prediction-diff-summary', (e: Element) => e.textContent)).toContain('2 of 4 images predicted differently by 20261128-110000 than by 20261128-100000 — 1 fixed, 1 broken');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.prediction-diff img')).every((i) => (i as HTMLImageElement).complete));
    const items = await page.$$eval('.prediction-diff .thumb', (els: Element[]) =>
      els.map((e) => ({ index: e.getAttribute('data-index'), cls: e.className, preds: Array.from(e.querySelectorAll('.pred')).map((p) => p.textContent), img: (e.querySelector('img') as HTMLImageElement | null)?.naturalWidth ?? null })),
    );
    const top = (100 * Math.exp(2)) / (Math.exp(2) + 2);
    expect(items).toEqual([
      { index: '11', cls: 'thumb correct', preds: [`dog ✗ ${top.toFixed(1)}%`, `cat ✓ ${top.toFixed(1)}%`], img: 16 },
      { index: '12', cls: 'thumb incorrect', preds: [`dog ✓ ${top.toFixed(1)}%`, `fox ✗ ${top.toFixed(1)}%`], img: null },
    ]);
    await screenshot(page, 'compare-per-class');
    expect(errors).toEqual([]);
    await page.close();
  });

  test('detectors: per-class AP and a precision-recall chart per class with a line per run, from what CocoEvaluator wrote', async () => {
    // One image with a car and a bus. Detector 1 finds the car, and the bus only after a false bus;
    // detector 2 finds the bus first and misses the car.
    const sample = (dets: Array<[number[], number, number]>): DetectionSample[] => [
      {
        imageId: 1,
        width: 100,
        height: 100,
        gt: [{ bbox: [0, 0, 20, 20], label: 0 }, { bbox: [50, 50, 30, 30], label: 1 }],
        detections: { boxes: Float32Array.from(dets.flatMap((d) => d[0])), scores: Float32Array.from(dets.map((d) => d[1])), labels: Int32Array.from(dets.map((d) => d[2])) },
      },
    ];
    const detRuns = await Promise.all(['20261128-120000', '20261128-130000'].map((runId, i) => writeRunDir(path.join(work, 'det_dirs'), { iters: 100, epochs: 2, logInterval: 10, runId, seed: 3 + i })));
    const evaluate = (dir: string, dets: Array<[number[], number, number]>) =>
      new CocoEvaluator(cocoEvaluatorParams.parse({ save_detections: false, gallery: 0 })).evaluate({ count: 1, indices: Int32Array.from([0]), classes: ['car', 'bus'], detections: sample(dets) }, { name: 'val', outDir: path.join(dir, 'eval') });
    evaluate(detRuns[0], [[[0, 0, 20, 20], 0.9, 0], [[0, 60, 10, 70], 0.8, 1], [[50, 50, 80, 80], 0.7, 1]]);
    evaluate(detRuns[1], [[[50, 50, 80, 80], 0.9, 1]]);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e: Error) => errors.push(e.message));
    await page.goto(server.url('compare', { kind: PanelKind.Compare, dirs: detRuns, chart: { x: 'iter', smoothing: 0, logScale: false } }));
    await page.waitForFunction(() => (window as any).__posted.some((m: any) => m.type === 'ready'));
    const classes = readClassComparison(detRuns);
    await page.evaluate((x: unknown) => (window as any).__send(x), jsonMessage({ type: HostMessageType.CompareRuns, runs: detRuns.map((d) => readRunSnapshot(d)), classes }));
    await page.waitForSelector('figure[data-chart="pr:val:bus"] canvas');
    await page.waitForTimeout(200);
    const rows = await page.$$eval('#per-class-val-AP50-table tbody tr', (trs: Element[]) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    // bus, detector 1: precision 1/2 at recall 1 → AP50 50; car, detector 2: never found → 0.
    expect(rows).toEqual([
      ['car', '100.0', '0.0', '-100.0'],
      ['bus', '50.0', '100.0', '+50.0'],
    ]);
    const data = await page.evaluate(() => (window as any).cvwCompare.perClass().lines.map((l: any) => ({ id: l.id, data: l.data() })));
    expect(data.map((d: any) => d.id)).toEqual(['pr:val:car', 'pr:val:bus']);
    const bus = data[1].data;
    expect([bus[0].length, bus[0][100]]).toEqual([101, 1]);
    expect(new Set(bus[1].map((v: number) => Math.round(v * 1e6) / 1e6))).toEqual(new Set([0.5]));
    expect(new Set(bus[2].map((v: number) => Math.round(v * 1e6) / 1e6))).toEqual(new Set([1]));
    expect(new Set(data[0].data[2])).toEqual(new Set([0]));
    await screenshot(page, 'compare-per-class-detection');
    expect(errors).toEqual([]);
    await page.close();
  });

  test('the report compared with another run (cvw report --compare), exported as one HTML file', async () => {
    expect(() => writeReportComparison(runA, [work])).toThrow(/not a run directory/);
    writeReportComparison(runA, [runB]);
    expect(JSON.parse(fs.readFileSync(path.join(runA, 'report', 'compare.json'), 'utf8'))).toEqual({ runs: ['../20261128-110000'] });
    const file = writeStandaloneReport(runA, path.join(bundles, 'webview', 'report.js'), path.join(work, 'export', 'report.html'));
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e: Error) => errors.push(e.message));
    await page.goto(`file://${file}`);
    await page.waitForSelector('#cell-compare figure[data-chart="per-class:val:accuracy"] canvas');
    const stem = path.basename(path.dirname(runA));
    expect(await page.textContent('#cell-compare h2')).toBe(`Compared with ${stem}/20261128-110000`);
    expect(await page.$$eval('#cell-compare figure[data-diff]', (els: Element[]) => els.length)).toBe(1);
    const rows: string[][] = await page.$$eval('#per-class-val-accuracy-table tbody tr', (trs: Element[]) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    expect(rows.map((r) => r[3])).toEqual(['+50.0', '-100.0', '0.0']);
    // This run's thumbnail of image 11, embedded as a data: URI.
    await page.waitForFunction(() => (document.querySelector('#cell-compare .prediction-diff img') as HTMLImageElement | null)?.naturalWidth === 16);
    expect(await page.$eval('#cell-compare .prediction-diff img', (i: HTMLImageElement) => i.src.slice(0, 15))).toBe('data:image/png;');
    await screenshot(page, 'report-compare');
    expect(errors).toEqual([]);
    await page.close();
  });

  test('runs without evaluations say so instead of showing empty charts', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(server.url('compare', { kind: PanelKind.Compare, dirs: [runA, runB], chart: { x: 'iter', smoothing: 0, logScale: false } }));
    await page.waitForFunction(() => (window as any).__posted.some((m: any) => m.type === 'ready'));
    await page.evaluate((x: unknown) => (window as any).__send(x), jsonMessage({ type: HostMessageType.CompareRuns, runs: [readRunSnapshot(runA), readRunSnapshot(runB)] }));
    await page.waitForSelector('#no-per-class');
    expect(await page.$('#no-prediction-diff')).not.toBeNull();
    expect(await page.$$('#per-class canvas')).toEqual([]);
    await page.close();
  });
});
