/**
 * The run dashboard's page in Chromium, fed by a fake host: a finished run's charts are drawn
 * (non-empty canvases, legend entries, axis names), a live run's rows are appended at 20
 * messages a second and drawn, the controls (smoothing, log scale, x axis, zoom) work, the
 * buttons post their actions, and nothing breaks the CSP. Screenshots: test-results/webview/.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HostMessageType, PanelKind, RunAction, WebviewMessageType } from '../../src/extension/protocol';
import { leftOutNote, toMetricTables } from '../../src/report/model/metrics';
import { thinTables } from '../../src/report/model/thinning';
import { summarize } from '../../src/report/model/run';
import { parseRunInfo } from '../../src/rundir';
import { buildWebviews, jsonMessage, launchChromium, screenshot, servePanels, type PanelServer } from './browser';
import { syntheticRecords } from './fixtures/syntheticRun';

let server: PanelServer;
let browser: any;

beforeAll(async () => {
  server = await servePanels(await buildWebviews());
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const DIR = '/runs/resnet18/20261128-120000';
const START = 1_790_000_000;

function summary(status: 'running' | 'finished', iter: number) {
  return summarize(
    DIR,
    parseRunInfo({
      status,
      config: '/ws/configs/resnet18.yaml',
      config_stem: 'resnet18',
      run_id: '20261128-120000',
      engine: { backend: 'wasm', reason: 'no GPU' },
      started: new Date(START * 1000).toISOString(),
      ended: status === 'finished' ? new Date((START + 100) * 1000).toISOString() : undefined,
      iter,
      epoch: 5,
      max_iters: 2000,
      max_epochs: 5,
      best: { metric: 'val/accuracy_top1', value: 0.86, iter: 2000, epoch: 5 },
    }, 'run.json'),
    'Classification',
  );
}

async function openDashboard(theme = 'dark') {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e: Error) => errors.push(e.message));
  await page.goto(server.url('dashboard', { kind: PanelKind.Dashboard, dir: DIR, chart: { x: 'iter', smoothing: 0, logScale: false } }, theme));
  await page.waitForFunction(() => (window as any).__posted.some((m: any) => m.type === 'ready'));
  return { page, errors };
}

/** Non-transparent pixels of each chart's canvas. */
async function inkPerChart(page: any): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const fig of Array.from(document.querySelectorAll('figure[data-chart]'))) {
      const canvas = fig.querySelector('canvas') as HTMLCanvasElement | null;
      if (!canvas) continue;
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      out[fig.getAttribute('data-chart')!] = n;
    }
    return out;
  });
}

describe('dashboard of a finished run', () => {
  test('draws every metric group with legends, axis names and the header', async () => {
    const { page, errors } = await openDashboard();
    const records = syntheticRecords({ iters: 2000, epochs: 5, logInterval: 10, start: START });
    await page.evaluate((m: unknown) => (window as any).__send(m), jsonMessage({ type: HostMessageType.RunSnapshot, run: { summary: summary('finished', 2000), tables: toMetricTables(records) } }));
    await page.waitForSelector('figure[data-chart] canvas');
    await page.waitForTimeout(200);

    const charts = await page.$$eval('figure[data-chart]', (els: Element[]) => els.map((e) => e.getAttribute('data-chart')));
    expect(charts).toEqual(['train:loss', 'train:lr', 'train:samples_per_s', 'val:*', 'train:timing']);
    const ink = await inkPerChart(page);
    for (const id of charts) expect(ink[id!], `ink of ${id}`).toBeGreaterThan(500);

    const legend = await page.$$eval('figure[data-chart="val:*"] .u-legend .u-series .u-label', (els: Element[]) => els.map((e) => e.textContent));
    expect(legend).toEqual(['iteration', 'accuracy_top1', 'accuracy_top5', 'mean_class_accuracy']);
    expect(await page.$$eval('figure[data-chart="train:timing"] .u-legend .u-label', (els: Element[]) => els.map((e) => e.textContent))).toEqual(['iteration', 'iter_time', 'data_time']);
    expect(await page.$$eval('.x-label', (els: Element[]) => [...new Set(els.map((e) => e.textContent))])).toEqual(['iteration']);
    expect(await page.$$eval('figcaption .y-label', (els: Element[]) => els.map((e) => e.textContent))).toEqual(['loss', 'lr', 'samples/s', 'metric', 'seconds']);

    expect(await page.textContent('#run-title')).toBe('resnet18 20261128-120000');
    expect(await page.textContent('#run-status')).toBe('finished');
    expect(await page.textContent('#fact-engine .v')).toBe('wasm — no GPU');
    expect(await page.textContent('#fact-elapsed .v')).toBe('1 min 40 s');
    expect(await page.textContent('#fact-progress .v')).toBe('iter 2000/2000 · epoch 5/5');
    expect(await page.textContent('#fact-best .v')).toBe('0.86 (iter 2000)');
    // Stop is disabled for a finished run, Resume too.
    expect(await page.$eval('vscode-button[data-action="stop"]', (b: any) => b.disabled)).toBe(true);

    // Hover reads the exact row: the legend shows the loss logged at the nearest iteration.
    const box = await page.$eval('figure[data-chart="train:loss"] .u-over', (e: Element) => {
      const r = e.getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height };
    });
    await page.mouse.move(box.x + box.w / 2, box.y + box.h / 2);
    const [xText, lossText] = await page.$$eval('figure[data-chart="train:loss"] .u-legend .u-series .u-value', (els: Element[]) => els.map((e) => e.textContent));
    const hoveredIter = Number(xText);
    const row = records.find((r) => r.split === 'train' && r.iter === hoveredIter);
    expect(row, `a train row at iteration ${xText}`).toBeDefined();
    expect(Number(lossText)).toBeCloseTo(row!.loss as number, 3);

    await screenshot(page, 'dashboard-finished-dark');
    expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  test('follows the light and high-contrast themes, redrawing the canvases', async () => {
    const { page, errors } = await openDashboard('light');
    const records = syntheticRecords({ iters: 500, epochs: 5, logInterval: 5, start: START });
    await page.evaluate((m: unknown) => (window as any).__send(m), jsonMessage({ type: HostMessageType.RunSnapshot, run: { summary: summary('finished', 500), tables: toMetricTables(records) } }));
    await page.waitForSelector('figure[data-chart] canvas');
    await page.waitForTimeout(200);
    await screenshot(page, 'dashboard-finished-light');
    const before = await page.evaluate(() => (window as any).cvwDashboard.charts()[0].redraws);
    await page.evaluate(() => (window as any).__setTheme('high-contrast'));
    await page.waitForFunction((n: number) => (window as any).cvwDashboard.charts()[0].redraws > n, before);
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(0, 0, 0)');
    await screenshot(page, 'dashboard-finished-high-contrast');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('dashboard of a long or odd run', () => {
  test('a thinned chart counts its own rows; a rare column says nothing; too many metrics are named', async () => {
    const { page, errors } = await openDashboard();
    const records = syntheticRecords({ iters: 12_000, epochs: 5, logInterval: 1, start: START });
    // A rare kind of row: skipped_items once every 1000 iterations.
    for (let i = 12_000; i >= 1000; i -= 1000) {
      const at = records.findIndex((r) => r.split === 'train' && r.iter === i);
      records.splice(at + 1, 0, { time: records[at].time, epoch: records[at].epoch, iter: i, split: 'train', skipped_items: i / 1000 });
    }
    const tables = thinTables(toMetricTables(records));
    await page.evaluate((m: unknown) => (window as any).__send(m), jsonMessage({ type: HostMessageType.RunSnapshot, run: { summary: summary('finished', 12_000), tables, metricsLeftOut: 41 } }));
    await page.waitForSelector('figure[data-chart="train:loss"] canvas');
    await page.waitForTimeout(200);
    const note = (id: string) => page.$eval(`figure[data-chart="${id}"] .chart-note`, (e: Element) => e.textContent);
    expect(await note('train:loss')).toMatch(/^showing [\d,]+ of 12,000 points \(evenly thinned, the latest always kept\)/);
    expect(await note('train:skipped_items')).toBe('');
    expect(await page.textContent('#metrics-left-out')).toBe(leftOutNote(41));
    await page.evaluate((m: unknown) => (window as any).__send(m), jsonMessage({ type: HostMessageType.MetricsAppended, dir: DIR, tables: [], leftOut: 1234 }));
    await page.waitForFunction(() => document.querySelector('#metrics-left-out')!.textContent!.includes('1,234'));
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('dashboard of a live run', () => {
  test('appends rows as they arrive, drawing each animation frame at most once', async () => {
    const { page, errors } = await openDashboard();
    const records = syntheticRecords({ iters: 2000, epochs: 5, logInterval: 1, start: START });
    const first = records.slice(0, 50);
    await page.evaluate((m: unknown) => (window as any).__send(m), jsonMessage({ type: HostMessageType.RunSnapshot, run: { summary: summary('running', 50), tables: toMetricTables(first) } }));
    await page.waitForSelector('figure[data-chart="train:loss"] canvas');
    expect(await page.$eval('vscode-button[data-action="stop"]', (b: any) => b.disabled)).toBe(false);

    // Batches of 40 rows every 50 ms, as the host's follower posts them (the rate is measured in
    // bench/webview; here: every row arrives and is drawn).
    const batches: unknown[] = [];
    for (let i = 50; i < 1650; i += 40) batches.push(jsonMessage({ type: HostMessageType.MetricsAppended, dir: DIR, tables: toMetricTables(records.slice(i, i + 40)) }));
    const burst: unknown[] = [];
    for (let i = 1650; i < 2050; i += 40) burst.push(jsonMessage({ type: HostMessageType.MetricsAppended, dir: DIR, tables: toMetricTables(records.slice(i, i + 40)) }));
    const result = await page.evaluate(async ([msgs, more]: unknown[][]) => {
      const w = window as any;
      const chart = w.cvwDashboard.charts()[0];
      const redraws0 = chart.redraws;
      for (const m of msgs) {
        w.__send(m);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const spaced = chart.redraws - redraws0;
      // Ten messages within one frame: one redraw, not ten.
      const before = chart.redraws;
      for (const m of more) w.__send(m);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return { spaced, burst: chart.redraws - before, rows: w.cvwDashboard.series().split('train').length };
    }, [batches, burst]);
    expect(result.rows).toBe(records.slice(0, 2050).filter((r) => r.split === 'train').length);
    expect(result.spaced).toBeGreaterThan(0);
    expect(result.spaced).toBeLessThanOrEqual(batches.length);
    expect(result.burst).toBe(1);
    // The last appended iteration is drawn.
    const lastDrawn = await page.evaluate(() => (window as any).cvwDashboard.charts()[0].plot.data[0].at(-1));
    expect(lastDrawn).toBe(records.slice(0, 2050).filter((r) => r.split === 'train').at(-1)!.iter);
    await screenshot(page, 'dashboard-live');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('dashboard controls', () => {
  test('smoothing, log scale, x axis, zoom and the run buttons', async () => {
    const { page, errors } = await openDashboard();
    const records = syntheticRecords({ iters: 2000, epochs: 5, logInterval: 10, start: START });
    await page.evaluate((m: unknown) => (window as any).__send(m), jsonMessage({ type: HostMessageType.RunSnapshot, run: { summary: summary('running', 2000), tables: toMetricTables(records) } }));
    await page.waitForSelector('figure[data-chart="train:loss"] canvas');

    // Smoothing adds the smoothed line and is kept in the panel's state.
    await page.$eval('#smoothing', (el: HTMLInputElement) => {
      el.value = '0.9';
      el.dispatchEvent(new Event('input'));
    });
    await page.waitForFunction(() => document.querySelectorAll('figure[data-chart="train:loss"] .u-legend .u-series').length === 3);
    expect(await page.$$eval('figure[data-chart="train:loss"] .u-legend .u-label', (els: Element[]) => els.map((e) => e.textContent))).toEqual(['iteration', 'loss (smoothed)', 'loss']);
    expect(await page.evaluate(() => (window as any).__state.chart.smoothing)).toBe(0.9);
    await screenshot(page, 'dashboard-smoothed');

    // Log scale
    await page.click('#log-scale');
    await page.waitForFunction(() => (window as any).__state.chart.logScale === true);
    await screenshot(page, 'dashboard-log-scale');

    // Epoch axis: x values are fractional epochs (iteration / 400).
    await page.evaluate(() => {
      const s = document.querySelector('#x-axis') as any;
      s.value = 'epoch';
      s.dispatchEvent(new Event('change'));
    });
    await page.waitForFunction(() => document.querySelector('.x-label')?.textContent === 'epoch');
    const xMax = await page.evaluate(() => (window as any).cvwDashboard.charts()[0].element.querySelector('.u-over') && ((window as any).cvwDashboard.charts()[0] as any).plot.scales.x.max);
    expect(xMax).toBeCloseTo(5, 5);

    // Zoom: drag across the loss chart; every chart follows; double-click resets.
    const box = await page.$eval('figure[data-chart="train:loss"] .u-over', (e: Element) => {
      const r = e.getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height };
    });
    await page.mouse.move(box.x + box.w * 0.2, box.y + box.h / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.w * 0.4, box.y + box.h / 2, { steps: 5 });
    await page.mouse.up();
    const ranges = await page.evaluate(() => (window as any).cvwDashboard.charts().map((c: any) => [c.plot.scales.x.min, c.plot.scales.x.max]));
    for (const [lo, hi] of ranges) {
      expect(lo).toBeCloseTo(ranges[0][0], 6);
      expect(hi).toBeCloseTo(ranges[0][1], 6);
    }
    expect(ranges[0][0]).toBeGreaterThan(0.8);
    expect(ranges[0][1]).toBeLessThan(2.2);
    await screenshot(page, 'dashboard-zoomed');
    await page.mouse.dblclick(box.x + box.w / 2, box.y + box.h / 2);
    await page.waitForFunction(() => Math.abs((window as any).cvwDashboard.charts()[0].plot.scales.x.max - 5) < 1e-6);

    // Buttons post their action with the run.
    await page.click('vscode-button[data-action="stop"]');
    await page.click('vscode-button[data-action="openConfig"]');
    const posted = await page.evaluate(() => (window as any).__posted.filter((m: any) => m.type === 'runAction'));
    expect(posted).toEqual([
      { type: WebviewMessageType.RunAction, action: RunAction.Stop, dir: DIR },
      { type: WebviewMessageType.RunAction, action: RunAction.OpenConfig, dir: DIR },
    ]);
    expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
