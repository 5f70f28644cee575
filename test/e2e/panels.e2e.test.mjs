/* global document, window, getComputedStyle, Event */ // used only inside functions that run in the page
// The panels in real VS Code (code-server + Chromium): the dashboard of a finished sample run
// draws its curves (non-empty canvases, legend entries, axis names) and comes back after a window
// reload (its serializer); the report shows the run's images through asWebviewUri; the
// benchmarks panel lists the run's kNN result. Screenshots: test-results/panels/.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchVSCode } from './harness.mjs';
import { SIMCLR_MODEL, syntheticRecords, writeRunDir } from '../webview/fixtures/syntheticRun';
import '../../src/builtins';
import { FASHION_DATA, makeRun } from '../export/helpers';
import { ensureBackend } from '../../src/export/source';

/** @type {import('./harness.mjs').VSCodeSession} */
let vs;

const STEM = 'resnet18_fashion_mnist_sample';
const RUN = '20261128-120000';

beforeAll(async () => {
  const ws = join(mkdtempSync(join(tmpdir(), 'cvw-e2e-panels-')), 'panels');
  await writeRunDir(join(ws, 'work_dirs'), { configStem: STEM, runId: RUN, iters: 2000, epochs: 5, logInterval: 10, confusion: true, report: 'classification' });
  await writeRunDir(join(ws, 'work_dirs'), { configStem: 'simclr_resnet18', runId: '20261127-090000', iters: 400, epochs: 4, logInterval: 4, model: SIMCLR_MODEL, benchmarks: { knn: 0.712, linear: 0.764 } });
  writeFileSync(join(ws, 'README.md'), '# Runs\n');
  vs = await launchVSCode({ name: 'panels', workspace: ws, viewport: { width: 1600, height: 1100 } });
  // The palette lists the extension's commands once the workbench has read its contributions.
  for (let i = 0; i < 20 && !(await vs.paletteCommands('CV Workbench: Compare')).includes('CV Workbench: Compare Runs'); i++) await vs.page.waitForTimeout(1000);
});

afterAll(async () => {
  await vs?.close();
});

/** Chart ids, legend labels, axis names and inked pixels of the charts in a panel's frame. */
async function charts(frame) {
  await frame.waitForSelector('figure[data-chart] canvas', { timeout: 30_000 });
  await frame.waitForTimeout(500);
  return frame.evaluate(() =>
    Array.from(document.querySelectorAll('figure[data-chart]')).map((fig) => {
      const canvas = fig.querySelector('canvas');
      const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let ink = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
      return {
        id: fig.getAttribute('data-chart'),
        ink,
        legend: Array.from(fig.querySelectorAll('.u-legend .u-series .u-label')).map((e) => e.textContent),
        x: fig.querySelector('.x-label')?.textContent,
        y: fig.querySelector('figcaption .y-label')?.textContent,
      };
    }),
  );
}

function expectCurves(list) {
  expect(list.map((c) => c.id)).toEqual(['train:loss', 'train:lr', 'train:samples_per_s', 'val:*', 'train:timing']);
  for (const c of list) expect(c.ink, `pixels drawn in ${c.id}`).toBeGreaterThan(500);
  expect(list.find((c) => c.id === 'train:loss').legend).toEqual(['iteration', 'loss']);
  expect(list.find((c) => c.id === 'val:*').legend).toEqual(['iteration', 'accuracy_top1', 'accuracy_top5', 'mean_class_accuracy']);
  expect(list.map((c) => c.y)).toEqual(['loss', 'lr', 'samples/s', 'metric', 'seconds']);
  expect(new Set(list.map((c) => c.x))).toEqual(new Set(['iteration']));
}

test('the dashboard of a finished sample run draws its curves, and comes back after a reload', async () => {
  await vs.runCommand('CV Workbench: Open Run Dashboard', { opensQuickPick: true });
  await vs.pick(`${STEM}/${RUN}`);
  const title = `Run ${STEM}/${RUN}`;
  let frame = await vs.webviewFrame(title, { timeout: 60_000 });
  expectCurves(await charts(frame));
  expect(await frame.textContent('#run-status')).toBe('finished');
  expect(await frame.textContent('#fact-progress .v')).toBe('iter 2000/2000 · epoch 5/5');
  // Theme colours come from VS Code: the page's background is the editor's.
  const bg = await frame.evaluate(() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).getPropertyValue('--vscode-editor-background').trim()]);
  expect(bg[1]).not.toBe('');
  await vs.screenshot('dashboard');

  // Settings survive the reload with the panel (webview state + serializer).
  await frame.$eval('#smoothing', (el) => {
    el.value = '0.8';
    el.dispatchEvent(new Event('input'));
  });
  await frame.waitForFunction(() => document.querySelectorAll('figure[data-chart="train:loss"] .u-legend .u-series').length === 3);
  // VS Code keeps a webview's state with its editor, saved when the workbench flushes its storage
  // (every few seconds in the browser); a reload right after the change would find the old state.
  await vs.page.waitForTimeout(7000);
  await vs.reload();
  frame = await vs.webviewFrame(title, { timeout: 60_000 });
  const after = await charts(frame);
  expect(after.map((c) => c.id)).toEqual(['train:loss', 'train:lr', 'train:samples_per_s', 'val:*', 'train:timing']);
  for (const c of after) expect(c.ink).toBeGreaterThan(500);
  expect(after.find((c) => c.id === 'train:loss').legend).toEqual(['iteration', 'loss (smoothed)', 'loss']);
  expect(await frame.$eval('#smoothing', (el) => el.value)).toBe('0.8');
  await vs.screenshot('dashboard-after-reload');
});

test('the run report shows the run\'s images (asWebviewUri, localResourceRoots) and its confusion matrix', async () => {
  await vs.runCommand('CV Workbench: Open Run Report', { opensQuickPick: true });
  await vs.pick(`${STEM}/${RUN}`);
  const frame = await vs.webviewFrame(`Report ${STEM}/${RUN}`, { timeout: 60_000 });
  await frame.waitForSelector('#gallery img');
  const loaded = await frame
    .waitForFunction(() => Array.from(document.querySelectorAll('#gallery img')).every((i) => i.complete && i.naturalWidth === 28), undefined, { timeout: 30_000 })
    .then(() => true)
    .catch(() => false);
  if (!loaded) {
    await vs.screenshot('report-images-missing');
    const seen = await frame.$$eval('#gallery img', (els) => els.slice(0, 3).map((i) => ({ src: i.src, complete: i.complete, width: i.naturalWidth })));
    const csp = await frame.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.content);
    throw new Error(`gallery images did not load: ${JSON.stringify(seen)}; CSP ${csp}`);
  }
  expect(await frame.$$eval('#gallery .thumb', (els) => els.length)).toBe(24);
  expect(await frame.$$eval('#gallery img', (els) => els.every((i) => i.src.startsWith('https://') || i.src.startsWith('vscode-'))).catch(() => false)).toBe(true);
  expect(await frame.$$eval('section.cell', (els) => els.map((e) => e.id))).toEqual(['cell-summary', 'cell-curves', 'cell-confusion', 'cell-gallery', 'cell-retrieval', 'cell-projection']);
  await frame.evaluate(() => window.scrollTo(0, document.querySelector('#cell-gallery').offsetTop));
  await vs.screenshot('report');
});

test('the benchmarks panel lists the kNN and linear results of the runs', async () => {
  await vs.runCommand('CV Workbench: Show Benchmarks');
  const frame = await vs.webviewFrame('Benchmarks', { timeout: 60_000 });
  await frame.waitForSelector('#zoo-table');
  const rows = await frame.$$eval('#zoo-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
  expect(rows).toEqual([['simclr_resnet18/20261127-090000', 'SimCLR', 'ResNet', '4', '512', '71.20', '83.20', '76.40', '88.40']]);
  await frame.waitForSelector('figure[data-chart="zoo:knn_top1+linear_top1"] canvas');
  await vs.screenshot('benchmarks');
});

test('a live run: rows appended to metrics.jsonl reach the open dashboard (the runs watcher follows the file)', async () => {
  // A run whose process is alive (this test's): the watcher says "running" and follows it.
  const start = Math.floor(Date.now() / 1000) - 60;
  const dir = await writeRunDir(vs.path('work_dirs'), { configStem: 'live_run', runId: '20261128-130000', iters: 1000, epochs: 5, logInterval: 5, status: 'running', start });
  const runJson = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...runJson, pid: process.pid, hostname: hostname(), iter: 200, status: 'running' }, null, 2));
  const all = syntheticRecords({ iters: 1000, epochs: 5, logInterval: 5, start });
  const upTo = (iter) => all.filter((r) => r.iter <= iter);
  writeFileSync(join(dir, 'metrics.jsonl'), upTo(200).map((r) => JSON.stringify(r) + '\n').join(''));

  await vs.runCommand('CV Workbench: Open Run Dashboard', { opensQuickPick: true });
  await vs.pick('live_run/20261128-130000');
  const frame = await vs.webviewFrame('Run live_run/20261128-130000', { timeout: 60_000 });
  await frame.waitForSelector('figure[data-chart="train:loss"] canvas');
  expect(await frame.textContent('#run-status')).toBe('running');
  const lastDrawn = () => frame.evaluate(() => window.cvwDashboard.charts()[0].plot.data[0].at(-1));
  expect(await lastDrawn()).toBe(200);
  // The trainer's appends: a line every 100 ms, as `cvw train` writes them.
  for (const r of all.filter((x) => x.iter > 200 && x.iter <= 400)) {
    appendFileSync(join(dir, 'metrics.jsonl'), JSON.stringify(r) + '\n');
    await new Promise((res) => setTimeout(res, 25));
  }
  await frame.waitForFunction(() => window.cvwDashboard.charts()[0].plot.data[0].at(-1) === 400, undefined, { timeout: 20_000 });
  // The first evaluation (iteration 200 of 1000, epoch 1) came with the snapshot; the next one
  // (the line after iteration 400's training row) arrives live.
  await frame.waitForFunction(() => window.cvwDashboard.series().split('val').values('iter').length === 2, undefined, { timeout: 20_000 });
  await vs.screenshot('dashboard-live');
});

test('Compare Runs: pick two runs, see them overlaid with a legend and their config differences', async () => {
  await vs.runCommand('CV Workbench: Compare Runs', { opensQuickPick: true });
  await vs.quickInputFocused();
  for (const label of [`${STEM}/${RUN}`, 'simclr_resnet18/20261127-090000']) await vs.tickQuickPickRow(label);
  await vs.screenshot('compare-pick');
  await vs.page.keyboard.press('Enter');
  const frame = await vs.webviewFrame('Compare 2 runs', { timeout: 60_000 });
  await frame.waitForSelector('figure[data-chart="train:loss"] canvas');
  await frame.waitForTimeout(300);
  const legend = await frame.$$eval('figure[data-chart="train:loss"] .u-legend .u-series .u-label', (els) => els.map((e) => e.textContent));
  // One entry per run (in the order of the Runs view: newest first).
  expect(legend[0]).toBe('iteration');
  expect([...legend.slice(1)].sort()).toEqual([`${STEM}/${RUN}`, 'simclr_resnet18/20261127-090000']);
  const ink = await frame.$eval('figure[data-chart="train:loss"] canvas', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  expect(ink).toBeGreaterThan(500);
  const diff = await frame.$$eval('#config-diff-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
  const byKey = Object.fromEntries(diff.map(([k, ...v]) => [k, [...v].sort()]));
  expect(byKey['model.type']).toEqual(['Classification', 'SimCLR']);
  expect(byKey['runner.max_epochs']).toEqual(['4', '5']);
  // Keys both share with the same value are not listed.
  expect(byKey['model.backbone.type']).toBeUndefined();
  expect(byKey['optimizer.type']).toBeUndefined();
  await vs.screenshot('compare');
});

test('the report\'s Generate button runs `cvw report` in a child process (the CLI bundled with the extension) and shows its predictions', async () => {
  // A run with a real (untrained) classifier checkpoint on the Fashion-MNIST sample.
  await ensureBackend('wasm');
  makeRun(vs.path('work_dirs/source'), `model: { type: Classification, backbone: { type: ResNet, depth: 18, stem: cifar, in_channels: 1, base_width: 8 }, head: { type: ClsHead, num_classes: 10 } }\n${FASHION_DATA}`).dispose();
  await vs.runCommand('CV Workbench: Open Run Report', { opensQuickPick: true });
  await vs.pick('source/run');
  const frame = await vs.webviewFrame('Report source/run', { timeout: 60_000 });
  await frame.waitForSelector('#cell-generate');
  expect(await frame.$$('#cell-gallery')).toEqual([]);
  await frame.click('#generate');
  await frame.waitForSelector('#gallery img', { timeout: 180_000 }).catch(async (err) => {
    throw new Error(`no gallery after Generate: ${await frame.textContent('#report-job').catch(() => '?')} (${err.message})`);
  });
  await frame.waitForFunction(() => Array.from(document.querySelectorAll('#gallery img')).every((i) => i.complete && i.naturalWidth === 28), undefined, { timeout: 30_000 });
  expect(await frame.$$eval('#gallery .thumb', (els) => els.length)).toBe(48);
  expect(await frame.$$eval('section.cell', (els) => els.map((e) => e.id))).toEqual(['cell-summary', 'cell-curves', 'cell-gallery', 'cell-retrieval', 'cell-projection']);
  expect(await frame.textContent('#report-job')).toBe('Predictions computed.');
  expect(readFileSync(vs.path('work_dirs/source/run/report/report.json'), 'utf8')).toContain('"task": "classification"');
  await vs.screenshot('report-generated');
}, 300_000);
