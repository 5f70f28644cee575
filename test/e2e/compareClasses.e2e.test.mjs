/* global document */ // used only inside functions that run in the page
// Compare Runs class by class in real VS Code (code-server + Chromium): two classification runs
// whose eval folders ClsEvaluator wrote, one with a `cvw report` thumbnail of an image the runs
// disagree on; the panel shows the confusion matrices with their difference, per-class accuracy,
// and the images predicted differently, the thumbnail loaded through asWebviewUri under the
// panel's CSP; a new evaluation of a run updates the panel. Screenshots: test-results/compare-classes/.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchVSCode } from './harness.mjs';
import { writeRunDir } from '../webview/fixtures/syntheticRun';
import { writeClsEvaluation } from '../helpers/clsEvaluation';
import { reportThumbnail } from '../../src/report/model/report';
import { encodePng } from '../../src/report/png';

/** @type {import('./harness.mjs').VSCodeSession} */
let vs;
const STEM = 'resnet18_pets';

beforeAll(async () => {
  const ws = join(mkdtempSync(join(tmpdir(), 'cvw-e2e-compare-classes-')), 'compare');
  const wd = join(ws, 'work_dirs');
  const a = await writeRunDir(wd, { configStem: STEM, runId: '20261201-100000', iters: 100, epochs: 2, logInterval: 10, seed: 1 });
  const b = await writeRunDir(wd, { configStem: STEM, runId: '20261201-110000', iters: 100, epochs: 2, logInterval: 10, seed: 2, lr: 0.05, status: 'running' });
  // A run in progress (its process: this test's), evaluated again below as a training run is each epoch.
  const info = JSON.parse(readFileSync(join(b, 'run.json'), 'utf8'));
  writeFileSync(join(b, 'run.json'), JSON.stringify({ ...info, pid: process.pid, hostname: hostname() }, null, 2));
  // Images 10..13: cat, cat, dog, fox. The first run says cat, dog, dog, fox; the second cat, cat, fox, fox.
  writeClsEvaluation(a, { classes: ['cat', 'dog', 'fox'], labels: [0, 0, 1, 2], predicted: [0, 1, 1, 2], indices: [10, 11, 12, 13] });
  writeClsEvaluation(b, { classes: ['cat', 'dog', 'fox'], labels: [0, 0, 1, 2], predicted: [0, 0, 2, 2], indices: [10, 11, 12, 13] });
  const thumb = join(a, reportThumbnail('val', 11));
  mkdirSync(dirname(thumb), { recursive: true });
  writeFileSync(thumb, encodePng(new Uint8Array(24 * 24 * 3).map((_, i) => (i % 3 === 1 ? 180 : 30)), 24, 24, 3));
  writeFileSync(join(ws, 'README.md'), '# Runs\n');
  vs = await launchVSCode({ name: 'compare-classes', workspace: ws, viewport: { width: 1600, height: 1100 } });
  for (let i = 0; i < 20 && !(await vs.paletteCommands('CV Workbench: Compare')).includes('CV Workbench: Compare Runs'); i++) await vs.page.waitForTimeout(1000);
});

afterAll(async () => {
  await vs?.close();
});

test('Compare Runs shows the runs class by class: matrices and their difference, per-class accuracy, the images predicted differently', async () => {
  await vs.runCommand('CV Workbench: Compare Runs', { opensQuickPick: true });
  await vs.quickInputFocused();
  for (const label of [`${STEM}/20261201-100000`, `${STEM}/20261201-110000`]) await vs.tickQuickPickRow(label);
  await vs.page.keyboard.press('Enter');
  const frame = await vs.webviewFrame('Compare 2 runs', { timeout: 60_000 });
  await frame.waitForSelector('#per-class figure[data-diff] canvas', { timeout: 30_000 });
  // Two matrices and one difference, whichever run the panel lists first.
  expect(await frame.$$eval('#per-class figure[data-run]', (els) => els.length)).toBe(2);
  expect(await frame.$$eval('#per-class figure[data-diff]', (els) => els.length)).toBe(1);
  const rows = await frame.$$eval('#per-class-val-accuracy-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
  expect(rows.map((r) => r[0])).toEqual(['cat', 'dog', 'fox']);
  // cat: 50 and 100; dog: 100 and 0; fox: 100 in both; the delta has the sign of the order shown.
  expect(rows.map((r) => [...r.slice(1, 3)].sort())).toEqual([['100.0', '50.0'], ['0.0', '100.0'], ['100.0', '100.0']]);
  expect(rows.map((r) => r[3].replace(/^[+-]/, ''))).toEqual(['50.0', '100.0', '0.0']);
  expect(await frame.textContent('.prediction-diff-summary')).toContain('2 of 4 images predicted differently');
  expect(await frame.$$eval('.prediction-diff .thumb', (els) => els.map((e) => e.getAttribute('data-index')))).toEqual(['11', '12']);
  // The thumbnail of image 11 comes through asWebviewUri and the panel's CSP.
  await frame.waitForFunction(() => Array.from(document.querySelectorAll('.prediction-diff img')).some((i) => i.complete && i.naturalWidth === 24), undefined, { timeout: 20_000 });
  await frame.$eval('#per-class', (el) => el.scrollIntoView());
  await vs.screenshot('compare-per-class');

  // The second (running) run evaluates again (as its eval hook does: eval/ first, then the metrics row) and now gets image 12 right too.
  // The session works on a copy of the workspace.
  const runB = vs.path(`work_dirs/${STEM}/20261201-110000`);
  writeClsEvaluation(runB, { classes: ['cat', 'dog', 'fox'], labels: [0, 0, 1, 2], predicted: [0, 0, 1, 2], indices: [10, 11, 12, 13] });
  appendFileSync(join(runB, 'metrics.jsonl'), JSON.stringify({ time: 1_790_000_100, epoch: 3, iter: 150, split: 'val', accuracy_top1: 1 }) + '\n');
  await frame.waitForFunction(() => document.querySelector('.prediction-diff-summary')?.textContent?.includes('1 of 4 images'), undefined, { timeout: 20_000 });
  expect(await frame.$$eval('.prediction-diff .thumb', (els) => els.map((e) => e.getAttribute('data-index')))).toEqual(['11']);
});
