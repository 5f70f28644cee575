/**
 * The comparison, benchmarks and report pages in Chromium, fed by a fake host from run
 * directories written like `cvw train` / `cvw benchmark` / `cvw report` write them; and the
 * report exported to a standalone HTML file, opened with no server at all.
 * Screenshots: test-results/webview/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HostMessageType, PanelKind, WebviewMessageType } from '../../src/extension/protocol';
import { parseMarkdownTables } from '../../src/report/model/markdownTables';
import { leftOutNote } from '../../src/report/model/metrics';
import { readAllBenchmarks, readReportData, readRunSnapshot } from '../../src/report/runFiles';
import { writeStandaloneReport } from '../../src/report/standalone';
import { buildWebviews, jsonMessage, launchChromium, screenshot, servePanels, type PanelServer } from './browser';
import { SIMCLR_MODEL, writeRunDir } from './fixtures/syntheticRun';

let server: PanelServer;
let browser: any;
let bundles: string;
let work: string;
let runA: string;
let runB: string;
let ssl1: string;
let ssl2: string;
let det: string;

beforeAll(async () => {
  bundles = await buildWebviews();
  server = await servePanels(bundles);
  browser = await launchChromium();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-panels-'));
  const wd = path.join(work, 'work_dirs');
  runA = await writeRunDir(wd, { iters: 1000, epochs: 5, logInterval: 5, runId: '20261128-100000', seed: 1, lr: 0.1, confusion: true, report: 'classification' });
  runB = await writeRunDir(wd, { iters: 1000, epochs: 5, logInterval: 5, runId: '20261128-110000', seed: 2, lr: 0.05, finalLoss: 0.5, finalAccuracy: 0.8, optimizer: { type: 'AdamW', lr: 0.05, weight_decay: 0.05 } });
  ssl1 = await writeRunDir(wd, { configStem: 'simclr_resnet18', runId: '20261127-090000', iters: 400, epochs: 4, logInterval: 4, model: SIMCLR_MODEL, benchmarks: { knn: 0.712, linear: 0.764 }, report: 'features' });
  det = await writeRunDir(wd, { configStem: 'yolox_nano_shapes', runId: '20261129-080000', iters: 100, epochs: 2, logInterval: 5, report: 'detection' });
  ssl2 = await writeRunDir(wd, { configStem: 'byol_resnet18', runId: '20261127-100000', iters: 400, epochs: 4, logInterval: 4, model: { ...SIMCLR_MODEL, type: 'BYOL' }, benchmarks: { knn: 0.745, linear: 0.781 } });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function open(kind: string, state: unknown) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const errors: string[] = [];
  page.on('pageerror', (e: Error) => errors.push(e.message));
  await page.goto(server.url(kind, state));
  await page.waitForFunction(() => (window as any).__posted.some((m: any) => m.type === 'ready'));
  // As text: playwright's own argument passing would drop a key named __proto__.
  const send = (m: unknown) => page.evaluate((text: string) => (window as any).__send(JSON.parse(text)), JSON.stringify(jsonMessage(m)));
  return { page, errors, send };
}

const cellTexts = (page: any, sel: string) =>
  page.$$eval(`${sel} tbody tr`, (rows: Element[]) => rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent)));

describe('compare runs', () => {
  test('overlays the runs with a legend, lists final metrics and only the config keys that differ', async () => {
    const { page, errors, send } = await open('compare', { kind: PanelKind.Compare, dirs: [runA, runB], chart: { x: 'iter', smoothing: 0, logScale: false } });
    await send({ type: HostMessageType.CompareRuns, runs: [readRunSnapshot(runA), readRunSnapshot(runB)] });
    await page.waitForSelector('figure[data-chart="train:loss"] canvas');
    await page.waitForTimeout(200);
    const charts = await page.$$eval('figure[data-chart]', (els: Element[]) => els.map((e) => e.getAttribute('data-chart')));
    expect(charts).toEqual(['train:loss', 'train:lr', 'train:samples_per_s', 'val:accuracy_top1', 'val:accuracy_top5', 'val:mean_class_accuracy', 'train:iter_time', 'train:data_time']);
    expect(await page.$$eval('figure[data-chart="train:loss"] .u-legend .u-label', (els: Element[]) => els.map((e) => e.textContent))).toEqual(['iteration', '20261128-100000', '20261128-110000']);
    const ink = await page.$eval('figure[data-chart="val:accuracy_top1"] canvas', (c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    expect(ink).toBeGreaterThan(500);

    const header = await page.$$eval('#final-metrics-table th', (els: Element[]) => els.map((e) => e.textContent));
    expect(header).toEqual(['run', 'status', 'model', 'iterations', 'time', 'val/accuracy_top1', 'val/accuracy_top5', 'val/mean_class_accuracy', 'train/loss']);
    const snapA = readRunSnapshot(runA);
    const accA = snapA.tables.find((t) => t.split === 'val')!.columns.accuracy_top1;
    const rows = await cellTexts(page, '#final-metrics-table');
    expect(rows[0].slice(0, 4)).toEqual(['20261128-100000', 'finished', 'Classification', '1000']);
    expect(rows[0][5]).toBe(String(Number(accA[accA.length - 1].toPrecision(4))));
    // The better accuracy (run A) is marked best.
    expect(await page.$eval('#final-metrics-table tbody tr[data-row="0"] td:nth-child(6)', (td: Element) => td.classList.contains('best'))).toBe(true);

    // Config differences: only the optimizer differs.
    expect(await cellTexts(page, '#config-diff-table')).toEqual([
      ['optimizer.type', 'SGD', 'AdamW'],
      ['optimizer.lr', '0.1', '0.05'],
      ['optimizer.momentum', '0.9', '(not set)'],
      ['optimizer.weight_decay', '0.0005', '0.05'],
    ]);
    // Sorting by a column: ascending loss puts run A (lower final loss) first.
    await page.click('#final-metrics-table th[data-column="8"]');
    await page.click('#final-metrics-table th[data-column="8"]');
    expect((await cellTexts(page, '#final-metrics-table')).map((r: string[]) => r[0])).toEqual(['20261128-100000', '20261128-110000']);

    // Appended rows of one run reach its line.
    await send({ type: HostMessageType.MetricsAppended, dir: runB, tables: [{ split: 'train', length: 1, columns: { iter: new Float64Array([1005]), loss: new Float64Array([0.2]), time: new Float64Array([1_790_000_100]) } }] });
    await page.waitForFunction(() => (window as any).cvwCompare.charts()[0].plot.data[0].at(-1) === 1005);
    await screenshot(page, 'compare');

    // A run whose metrics.jsonl passed the bounds is named with what was left out, as on its dashboard.
    expect(await page.textContent('#metrics-left-out')).toBe('');
    await send({ type: HostMessageType.MetricsAppended, dir: runB, tables: [], leftOut: 1234 });
    await page.waitForFunction(() => document.querySelector('#metrics-left-out')!.textContent !== '');
    expect(await page.$$eval('#metrics-left-out p', (ps: Element[]) => ps.map((p) => p.textContent))).toEqual([`20261128-110000: ${leftOutNote(1234)}`]);
    await send({ type: HostMessageType.CompareRuns, runs: [{ ...readRunSnapshot(runA), metricsLeftOut: 41 }, readRunSnapshot(runB)] });
    await page.waitForFunction(() => document.querySelectorAll('#metrics-left-out p').length === 1 && document.querySelector('#metrics-left-out')!.textContent!.includes(' 41 '));
    expect(await page.textContent('#metrics-left-out')).toBe(`20261128-100000: ${leftOutNote(41)}`);
    expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('benchmarks', () => {
  test('a sortable model-zoo table with bar charts, and the tables of BENCHMARKS.md', async () => {
    const { page, errors, send } = await open('benchmarks', { kind: PanelKind.Benchmarks, sort: {} });
    const md = [
      '# Benchmarks',
      '## Engine',
      '| kernel | tfjs wasm | PyTorch | ratio |',
      '| --- | ---: | ---: | --- |',
      '| conv 3x3 | 21 ms | 4.7 ms | 0.22x |',
      '| batch norm | **1,157 ms** | 30 ms | 0.03x |',
      '| matmul | 3.5 ms | 2.1 ms | 0.6x |',
    ].join('\n');
    await send({ type: HostMessageType.Benchmarks, entries: readAllBenchmarks([runA, ssl1, ssl2]), documents: [{ file: '/ws/BENCHMARKS.md', tables: parseMarkdownTables(md) }] });
    await page.waitForSelector('#zoo-table');
    expect(await page.$$eval('#zoo-table th', (els: Element[]) => els.map((e) => e.textContent))).toEqual(['run', 'algorithm', 'backbone', 'epochs', 'feature dim', 'knn_top1 (%)', 'knn_top5 (%)', 'linear_top1 (%)', 'linear_top5 (%)']);
    // Sorted by kNN top-1, best first.
    expect(await cellTexts(page, '#zoo-table')).toEqual([
      ['byol_resnet18/20261127-100000', 'BYOL', 'ResNet', '4', '512', '74.50', '86.50', '78.10', '90.10'],
      ['simclr_resnet18/20261127-090000', 'SimCLR', 'ResNet', '4', '512', '71.20', '83.20', '76.40', '88.40'],
    ]);
    // Click "algorithm": A-Z.
    await page.click('#zoo-table th[data-column="1"]');
    expect((await cellTexts(page, '#zoo-table')).map((r: string[]) => r[1])).toEqual(['BYOL', 'SimCLR']);
    expect(await page.evaluate(() => (window as any).__state.sort['zoo-table'])).toEqual({ column: 1, descending: false });

    // The BENCHMARKS.md table: numbers as written, sortable by value.
    expect(await page.$eval('section[data-table="doc-0"] h3', (e: Element) => e.textContent)).toBe('Benchmarks / Engine');
    await page.click('#doc-0 th[data-column="1"]');
    expect((await cellTexts(page, '#doc-0')).map((r: string[]) => r[1])).toEqual(['1,157 ms', '21 ms', '3.5 ms']);
    await page.waitForSelector('figure[data-chart="doc-0:1"] canvas');
    await page.waitForSelector('figure[data-chart="zoo:knn_top1+linear_top1"] canvas');
    await page.waitForTimeout(200);
    const legend = await page.$$eval('figure[data-chart="zoo:knn_top1+linear_top1"] .u-legend .u-label', (els: Element[]) => els.map((e) => e.textContent));
    expect(legend).toEqual(['category', 'knn_top1', 'linear_top1']);
    await screenshot(page, 'benchmarks');
    // Clicking the table's title opens BENCHMARKS.md at its line.
    await page.click('section[data-table="doc-0"] h3 a');
    expect(await page.evaluate(() => (window as any).__posted.filter((m: any) => m.type === 'openFile'))).toEqual([{ type: WebviewMessageType.OpenFile, file: '/ws/BENCHMARKS.md', line: 3 }]);
    expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('benchmarks with odd metric names', () => {
  test('a metric named constructor or __proto__ is a column like any other, a dash where a run lacks it', async () => {
    const { page, errors, send } = await open('benchmarks', { kind: PanelKind.Benchmarks, sort: {} });
    // As a result file's JSON reads them: __proto__ an own key.
    const entry = (runId: string, metrics: string) => ({ run: `/ws/work_dirs/odd/${runId}`, file: `/ws/work_dirs/odd/${runId}/benchmarks/knn.json`, runId, configStem: 'odd', benchmark: 'knn', metrics: JSON.parse(metrics), settings: {} });
    await send({ type: HostMessageType.Benchmarks, entries: [entry('a', '{"knn_top1": 0.5, "constructor": 0.25, "__proto__": 0.125}'), entry('b', '{"knn_top1": 0.75}')], documents: [] });
    await page.waitForSelector('#zoo-table');
    expect(await page.$$eval('#zoo-table th', (els: Element[]) => els.map((e) => e.textContent)).then((h: string[]) => h.slice(5))).toEqual(['__proto__ (%)', 'constructor (%)', 'knn_top1 (%)']);
    expect((await cellTexts(page, '#zoo-table')).map((r: string[]) => [r[0], ...r.slice(5)])).toEqual([
      ['odd/b', '—', '—', '75.00'],
      ['odd/a', '12.50', '25.00', '50.00'],
    ]);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('benchmarks of this repository', () => {
  test('every table of BENCHMARKS.md renders, sortable, with a bar chart where it has numbers', async () => {
    const file = path.resolve(__dirname, '../../BENCHMARKS.md');
    const tables = parseMarkdownTables(fs.readFileSync(file, 'utf8'));
    expect(tables.length).toBeGreaterThan(0);
    const { page, errors, send } = await open('benchmarks', { kind: PanelKind.Benchmarks, sort: {} });
    await send({ type: HostMessageType.Benchmarks, entries: [], documents: [{ file, tables }] });
    await page.waitForSelector('#no-benchmarks');
    expect(await page.$$eval('section.doc-table', (els: Element[]) => els.length)).toBe(tables.length);
    for (const [i, t] of tables.entries()) expect(await page.$$eval(`#doc-${i} tbody tr`, (els: Element[]) => els.length)).toBe(t.rows.length);
    await page.waitForTimeout(300);
    await screenshot(page, 'benchmarks-repository');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('run report', () => {
  test('a classifier: summary, curves, confusion matrix, gallery of right and wrong predictions', async () => {
    const { page, errors, send } = await open('report', { kind: PanelKind.Report, dir: runA });
    await send({ type: HostMessageType.Report, report: readReportData(runA, (rel) => `${server.origin}/files${path.join(runA, rel)}`) });
    await page.waitForSelector('#cell-summary');
    const cells = await page.$$eval('section.cell', (els: Element[]) => els.map((e) => e.id));
    expect(cells).toEqual(['cell-summary', 'cell-curves', 'cell-confusion', 'cell-gallery', 'cell-retrieval', 'cell-projection']);
    expect(await page.$eval('#cell-summary h2', (e: Element) => e.textContent)).toBe('resnet18_fashion_mnist · 20261128-100000');
    await page.waitForSelector('#cell-curves figure[data-chart="train:loss"] canvas');
    // Gallery: 24 images, 4 wrong (every 5th from the 4th), each loaded.
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#gallery img')).every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 28));
    expect(await page.$$eval('#gallery .thumb', (els: Element[]) => els.length)).toBe(24);
    expect(await page.$$eval('#gallery .thumb.incorrect', (els: Element[]) => els.length)).toBe(5);
    await page.click('#gallery-incorrect');
    expect(await page.$$eval('#gallery .thumb', (els: Element[]) => els.map((e) => e.className))).toEqual(Array(5).fill('thumb incorrect'));
    expect(await page.$eval('#gallery .thumb .truth', (e: Element) => e.textContent)).toBe('✗ true: Dress');
    await page.click('#gallery-all');
    // Confusion matrix: drawn, and its per-class table.
    const heat = await page.$eval('canvas.heatmap', (c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    expect(heat).toBeGreaterThan(10_000);
    expect(await page.$$eval('#per-class-val tbody tr', (els: Element[]) => els.length)).toBe(10);
    await screenshot(page, 'report-classifier');
    // Buttons: generate, export.
    await page.click('#generate');
    await page.click('#export-html');
    expect(await page.evaluate(() => (window as any).__posted.filter((m: any) => m.type !== 'ready').map((m: any) => m.type))).toEqual([WebviewMessageType.GenerateReport, WebviewMessageType.ExportHtml]);
    await send({ type: HostMessageType.ReportJob, state: 'failed', text: 'no checkpoint' });
    expect(await page.textContent('#report-job')).toBe('cvw report failed:\nno checkpoint');
    expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  test('a self-supervised run: retrieval thumbnails, a PCA projection coloured by class, benchmarks', async () => {
    const { page, errors, send } = await open('report', { kind: PanelKind.Report, dir: ssl1 });
    await send({ type: HostMessageType.Report, report: readReportData(ssl1, (rel) => `${server.origin}/files${path.join(ssl1, rel)}`) });
    await page.waitForSelector('#cell-projection canvas');
    const cells = await page.$$eval('section.cell', (els: Element[]) => els.map((e) => e.id));
    expect(cells).toEqual(['cell-summary', 'cell-curves', 'cell-retrieval', 'cell-projection', 'cell-benchmarks']);
    expect(await page.$$eval('.retrieval-row', (els: Element[]) => els.map((e) => e.querySelectorAll('img').length))).toEqual([6, 6, 6]);
    expect(await page.$$eval('.projection-legend .legend-item', (els: Element[]) => els.map((e) => e.textContent))).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    // Points of at least 8 different colours.
    const colours = await page.$eval('#cell-projection canvas', (c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<string>();
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200) seen.add(`${d[i] >> 4},${d[i + 1] >> 4},${d[i + 2] >> 4}`);
      return seen.size;
    });
    expect(colours).toBeGreaterThanOrEqual(8);
    expect(await cellTexts(page, '#report-benchmarks')).toEqual([
      ['knn', 'knn_top1', '71.20', 'k=200, temperature=0.1, weights=raw'],
      ['knn', 'knn_top5', '83.20', 'k=200, temperature=0.1, weights=raw'],
      ['linear', 'linear_top1', '76.40', 'epochs=90, lr=0.1, weights=raw'],
      ['linear', 'linear_top5', '88.40', 'epochs=90, lr=0.1, weights=raw'],
    ]);
    await screenshot(page, 'report-selfsup');
    expect(errors).toEqual([]);
    await page.close();
  });

  test('a detector: each image with its boxes listed in the colours they are drawn in', async () => {
    const { page, errors, send } = await open('report', { kind: PanelKind.Report, dir: det });
    await send({ type: HostMessageType.Report, report: readReportData(det, (rel) => `${server.origin}/files${path.join(det, rel)}`) });
    await page.waitForSelector('#detections .pred');
    const rows = await page.$$eval('#detections .thumb', (els: Element[]) => els.map((e) => Array.from(e.querySelectorAll('.pred')).map((p) => `${p.textContent} ${getComputedStyle(p).color}`)));
    // The page's palette: #e6194b, #3cb44b, #4363d8, #f58231, #911eb4 for classes 0-4.
    expect(rows).toEqual([
      ['T-shirt/top 90% rgb(230, 25, 75)', 'Trouser 60% rgb(60, 180, 75)'],
      ['Trouser 90% rgb(60, 180, 75)', 'Pullover 60% rgb(67, 99, 216)'],
      ['Pullover 90% rgb(67, 99, 216)', 'Dress 60% rgb(245, 130, 49)'],
      ['Dress 90% rgb(245, 130, 49)', 'Coat 60% rgb(145, 30, 180)'],
    ]);
    expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  test('exported to one standalone HTML file that renders with no server and no network', async () => {
    const file = writeStandaloneReport(runA, path.join(bundles, 'webview', 'report.js'), path.join(work, 'export', 'report.html'));
    const html = fs.readFileSync(file, 'utf8');
    expect(html).not.toMatch(/src="http|href="http/);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e: Error) => errors.push(e.message));
    page.on('request', (r: { url(): string }) => requests.push(r.url()));
    const violations: string[] = [];
    page.on('console', (m: { text(): string }) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(`file://${file}`);
    await page.waitForSelector('#cell-gallery img');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#gallery img')).every((i) => (i as HTMLImageElement).naturalWidth === 28));
    await page.waitForSelector('#cell-curves figure[data-chart="train:loss"] canvas');
    expect(await page.$$eval('section.cell', (els: Element[]) => els.map((e) => e.id))).toEqual(['cell-summary', 'cell-curves', 'cell-confusion', 'cell-gallery', 'cell-retrieval', 'cell-projection']);
    // No buttons outside VS Code.
    expect(await page.$$('#generate')).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:'))).toEqual([]);
    expect(violations).toEqual([]);
    await screenshot(page, 'report-standalone');
    expect(errors).toEqual([]);
    await page.close();
  });
});
