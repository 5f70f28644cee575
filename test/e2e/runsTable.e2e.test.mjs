// The runs table in real VS Code (code-server + Chromium): a workspace with four runs; the table
// lists them, a metric and a config key become columns, a click on the metric's header sorts by
// it, the filter keeps what it says (and says where it is wrong), a star and a note land in the run
// directory's annotations.json, a run written meanwhile appears by itself, two selected rows open
// Compare Runs, and Delete asks first; two entries added to a paused run queue show as queued rows,
// which move up and leave the queue from the table, and a started one shows once, as its run. Screenshots: test-results/runs-table/.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchVSCode } from './harness.mjs';

const STARTED = Date.parse('2026-03-01T10:00:00Z');

/** A finished (or failed) run: run.json, the resolved config, a few metrics lines. */
function run(id, { status = 'finished', lr, depth, acc, minutes }) {
  const dir = `work_dirs/resnet/${id}`;
  return {
    [`${dir}/run.json`]: JSON.stringify({
      version: 1,
      status,
      pid: 1,
      hostname: 'elsewhere',
      config: '/elsewhere/configs/resnet.yaml',
      config_stem: 'resnet',
      run_id: id,
      command: ['cvw', 'train'],
      cvw_version: '0.1.0',
      engine: { backend: 'wasm-ort' },
      started: new Date(STARTED).toISOString(),
      ended: new Date(STARTED + minutes * 60_000).toISOString(),
      epoch: 2,
      iter: 20,
      max_iters: 20,
      max_epochs: 2,
      metrics: { 'val/accuracy_top1': acc },
    }),
    [`${dir}/config.yaml`]: `model:\n  type: Classification\n  backbone: {type: ResNet, depth: ${depth}}\noptimizer: {type: SGD, lr: ${lr}}\n`,
    [`${dir}/metrics.jsonl`]: [
      { iter: 10, split: 'train', loss: 2 },
      { iter: 10, split: 'val', accuracy_top1: acc - 0.1 },
      { iter: 20, split: 'train', loss: 1 },
      { iter: 20, split: 'val', accuracy_top1: acc },
    ]
      .map((m) => JSON.stringify(m) + '\n')
      .join(''),
  };
}

const WORKSPACE = {
  'configs/resnet.yaml': 'model:\n  type: Classification\n  backbone: {type: ResNet, depth: 18}\n  head: {type: ClsHead, num_classes: 10}\n',
  ...run('r1-lr0.1', { lr: 0.1, depth: 18, acc: 0.95, minutes: 3 }),
  ...run('r2-lr0.001', { lr: 0.001, depth: 50, acc: 0.62, minutes: 5, status: 'failed' }),
  ...run('r3-lr0.05', { lr: 0.05, depth: 50, acc: 0.91, minutes: 4 }),
  ...run('r4-lr0.01', { lr: 0.01, depth: 18, acc: 0.88, minutes: 2 }),
};

/** @type {import('./harness.mjs').VSCodeSession} */
let vs;
/** @type {import('playwright-core').Frame} */
let frame;

beforeAll(async () => {
  vs = await launchVSCode({ name: 'runs-table', workspace: WORKSPACE, viewport: { width: 1500, height: 950 } });
  for (let i = 0; i < 20 && !(await vs.paletteCommands('CV Workbench: Open Runs')).includes('CV Workbench: Open Runs Table'); i++) await vs.page.waitForTimeout(1000);
});

afterAll(async () => {
  await vs?.close();
});

/** The names of the rows shown, top to bottom. */
const names = () => frame.$$eval('tr.row', (rows) => rows.map((r) => r.getAttribute('data-name')));
/** A row's text in a column. */
const cell = (name, column) => frame.$eval(`tr.row[data-name="${name}"] td[data-column="${column}"]`, (td) => td.textContent);

async function addColumn(label) {
  await frame.fill('#add-column', label);
  await frame.press('#add-column', 'Enter');
  await frame.waitForSelector(`th[data-column]:has-text("${label}")`);
}

test('opens on the runs of the workspace, with a metric and a config key as columns, sorted by a click on the header', async () => {
  await vs.runCommand('CV Workbench: Open Runs Table');
  frame = await vs.webviewFrame('Runs Table', { timeout: 60_000 });
  await expect.poll(() => frame.textContent('#row-count'), { timeout: 30_000 }).toBe('4 of 4 runs');
  expect(await cell('resnet/r2-lr0.001', 'status')).toBe('failed');
  expect(await cell('resnet/r1-lr0.1', 'engine')).toBe('wasm-ort');
  expect(await cell('resnet/r2-lr0.001', 'duration')).toBe('5 min 00 s');

  await addColumn('val/accuracy_top1');
  await addColumn('best(val/accuracy_top1)');
  await addColumn('optimizer.lr');
  expect(await cell('resnet/r3-lr0.05', 'config:optimizer.lr')).toBe('0.05');
  expect(await cell('resnet/r3-lr0.05', 'best:val/accuracy_top1')).toBe('0.91');

  await frame.click('th[data-column="final:val/accuracy_top1"]');
  await expect.poll(names).toEqual(['resnet/r1-lr0.1', 'resnet/r3-lr0.05', 'resnet/r4-lr0.01', 'resnet/r2-lr0.001']);
  await frame.click('th[data-column="final:val/accuracy_top1"]');
  await expect.poll(names).toEqual(['resnet/r2-lr0.001', 'resnet/r4-lr0.01', 'resnet/r3-lr0.05', 'resnet/r1-lr0.1']);
  await vs.screenshot('sorted-by-accuracy');
});

test('filters by status, a config key and a metric, and shows where a filter is wrong', async () => {
  await frame.fill('#filter', 'status:finished lr>0.01 val/accuracy_top1>0.9');
  await expect.poll(names).toEqual(['resnet/r3-lr0.05', 'resnet/r1-lr0.1']);
  expect(await frame.textContent('#row-count')).toBe('2 of 4 runs');
  await vs.screenshot('filtered');

  await frame.fill('#filter', 'status:finished lr>abc');
  await expect.poll(() => frame.textContent('#filter-error')).toBe('"lr>abc": > compares numbers; "abc" is not a number (at column 17)');
  expect(await frame.$eval('#filter', (el) => el.classList.contains('invalid'))).toBe(true);
  await vs.screenshot('filter-error');
  await frame.fill('#filter', 'depth:50');
  await expect.poll(names).toEqual(['resnet/r2-lr0.001', 'resnet/r3-lr0.05']);
  await frame.fill('#filter', '');
  await expect.poll(() => frame.textContent('#row-count')).toBe('4 of 4 runs');
});

test('a star and a note are written to the run directory and shown', async () => {
  await frame.click('tr.row[data-name="resnet/r3-lr0.05"] td.star');
  const annotations = vs.path('work_dirs/resnet/r3-lr0.05/annotations.json');
  await expect.poll(() => existsSync(annotations) && JSON.parse(readFileSync(annotations, 'utf8')), { timeout: 15_000 }).toEqual({ starred: true, note: '' });
  await expect.poll(() => cell('resnet/r3-lr0.05', 'starred'), { timeout: 15_000 }).toBe('★');

  await frame.click('tr.row[data-name="resnet/r3-lr0.05"] input.select');
  await frame.fill('#note', 'lr 0.05 is the sweet spot');
  await frame.click('#save-note');
  await expect.poll(() => JSON.parse(readFileSync(annotations, 'utf8')), { timeout: 15_000 }).toEqual({ starred: true, note: 'lr 0.05 is the sweet spot' });
  await frame.fill('#filter', 'starred:true sweet');
  await expect.poll(names).toEqual(['resnet/r3-lr0.05']);
  await frame.fill('#filter', '');
  await frame.click('tr.row[data-name="resnet/r3-lr0.05"] input.select'); // unselect
});

test('a run written meanwhile appears by itself; grouping by a config key', async () => {
  for (const [rel, text] of Object.entries(run('r5-live', { lr: 0.2, depth: 34, acc: 0.97, minutes: 1 }))) {
    mkdirSync(join(vs.path(rel), '..'), { recursive: true });
    writeFileSync(vs.path(rel), text);
  }
  await expect.poll(() => frame.textContent('#row-count'), { timeout: 30_000 }).toBe('5 of 5 runs');
  expect((await names())[4]).toBe('resnet/r5-live'); // sorted by accuracy, ascending

  await frame.selectOption('#group-by', 'config:model.backbone.depth');
  await expect
    .poll(() => frame.$$eval('tr.group', (rows) => rows.map((r) => r.textContent)))
    .toEqual(['model.backbone.depth = 18 (2)', 'model.backbone.depth = 34 (1)', 'model.backbone.depth = 50 (2)']);
  await vs.screenshot('grouped-by-depth');
  await frame.selectOption('#group-by', '');
});

test('two selected rows open Compare Runs; Delete asks first and removes the run', async () => {
  await frame.click('tr.row[data-name="resnet/r1-lr0.1"] input.select');
  await frame.click('tr.row[data-name="resnet/r3-lr0.05"] input.select');
  expect(await frame.$eval('#compare', (b) => b.disabled)).toBe(false);
  await frame.click('#compare');
  await vs.activeTab('Compare 2 runs');
  await vs.screenshot('compare-from-table');
  await vs.page.locator('.tabs-container .tab', { hasText: 'Runs Table' }).click();
  frame = await vs.webviewFrame('Runs Table', { timeout: 30_000 });
  // The selection survived the page being hidden; narrow it to one run and delete that.
  await expect.poll(() => frame.$$eval('tr.row.selected', (rows) => rows.length)).toBe(2);
  await frame.click('tr.row[data-name="resnet/r1-lr0.1"] input.select');
  await frame.click('#delete');
  const dialog = vs.page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 15_000 });
  expect(await dialog.textContent()).toContain('Delete run resnet/r3-lr0.05');
  await vs.screenshot('delete-asks');
  await dialog.locator('.monaco-button', { hasText: /^Delete$/ }).click();
  await expect.poll(() => existsSync(vs.path('work_dirs/resnet/r3-lr0.05')), { timeout: 15_000 }).toBe(false);
  await expect.poll(() => frame.textContent('#row-count'), { timeout: 30_000 }).toBe('4 of 4 runs');
  expect(await names()).not.toContain('resnet/r3-lr0.05');
  await vs.screenshot('after-delete');
});

test("the Runs view's title button reopens the table with the columns and sort a person chose", async () => {
  // The page may have been loaded again since the last test (a full CI run found the old frame
  // detached here): look for it afresh.
  frame = await vs.webviewFrame('Runs Table', { timeout: 30_000 });
  const columns = () => frame.$$eval('th[data-column]', (ths) => ths.map((th) => th.getAttribute('data-column')));
  const chosen = await columns();
  expect(chosen).toContain('final:val/accuracy_top1');
  await vs.page.waitForTimeout(1000); // the page sends its settings 300 ms after the last change
  await vs.page.locator('.tabs-container .tab.active .codicon-close').click();
  // The activity bar's CV Workbench icon (a webview has the keyboard focus, so no palette here).
  await vs.page.locator('.activitybar .action-item .action-label[aria-label^="CV Workbench"]').first().click();
  // A view's title buttons show while the mouse is over its header.
  const header = vs.page.locator('.part.sidebar .pane-header', { hasText: 'Runs' }).first();
  await header.hover();
  await header.locator('.action-label[aria-label="Open Runs Table"]').click();
  frame = await vs.webviewFrame('Runs Table', { timeout: 60_000 });
  await expect.poll(() => frame.textContent('#row-count'), { timeout: 30_000 }).toBe('4 of 4 runs');
  expect(await columns()).toEqual(chosen);
  expect(await frame.textContent('th[data-column="final:val/accuracy_top1"]')).toContain('▲');
});

test('a thousand runs: listed live, filtered as one types, only the rows in view drawn', async () => {
  const t0 = Date.now();
  for (let i = 0; i < 1000; i++) {
    for (const [rel, text] of Object.entries(run(`bulk-${String(i).padStart(4, '0')}`, { lr: [0.1, 0.01, 0.001][i % 3], depth: 18, acc: ((i * 7919) % 1000) / 1000, minutes: 1 }))) {
      mkdirSync(join(vs.path(rel), '..'), { recursive: true });
      writeFileSync(vs.path(rel), text);
    }
  }
  const written = Date.now();
  await expect.poll(() => frame.textContent('#row-count'), { timeout: 120_000, interval: 250 }).toBe('1004 of 1004 runs');
  const listed = Date.now();
  // Virtual rows: the DOM holds what fits the viewport and a margin, not a thousand rows.
  expect(await frame.$$eval('tr.row', (rows) => rows.length)).toBeLessThan(120);
  // Typing a filter: the page filters and sorts 1,004 rows itself.
  const typed = Date.now();
  await frame.fill('#filter', 'lr>0.01 val/accuracy_top1>=0.9');
  await expect.poll(() => frame.textContent('#row-count')).toMatch(/^\d+ of 1004 runs$/);
  const filteredMs = Date.now() - typed;
  const kept = Number((await frame.textContent('#row-count')).split(' ')[0]);
  // lr 0.1 is every third bulk run; accuracies are a permutation of 0..0.999; r1 (lr 0.1, 0.95) and r5-live (lr 0.2, 0.97) too.
  expect(kept).toBe(Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 3 === 0 && ((i * 7919) % 1000) / 1000 >= 0.9).length + 2);
  // Scrolling to the end draws the last rows.
  await frame.$eval('#viewport', (el) => (el.scrollTop = el.scrollHeight));
  await frame.fill('#filter', '');
  await frame.$eval('#viewport', (el) => (el.scrollTop = el.scrollHeight));
  // Sorted by accuracy ascending (the remembered sort): the last row is the best bulk run.
  const best = Array.from({ length: 1000 }, (_, i) => i).reduce((a, i) => ((i * 7919) % 1000 > (a * 7919) % 1000 ? i : a), 0);
  await expect.poll(() => frame.$$eval('tr.row', (rows) => rows.at(-1)?.getAttribute('data-name'))).toBe(`resnet/bulk-${String(best).padStart(4, '0')}`);
  await vs.screenshot('thousand-runs');
  console.log(`runs table e2e: 1,000 run directories written in ${written - t0} ms, all listed ${listed - written} ms later; a filter over 1,004 rows shown in ${filteredMs} ms`);
});

test('queued runs: entries added to a paused queue are rows, move up and leave the queue from the table', async () => {
  // The queue file as `cvw queue add` leaves it, paused (so the queue runner starts nothing), written atomically as the queue's writers do.
  const file = vs.path('work_dirs/.queue.json');
  const entry = (id, overrides) => ({ id, config: 'configs/resnet.yaml', overrides, added: new Date().toISOString(), state: 'queued' });
  writeFileSync(`${file}.tmp`, JSON.stringify({ version: 1, paused: true, seq: 2, entries: [entry('q1', ['optimizer.lr=0.3']), entry('q2', ['--model.backbone.depth', '101'])] }));
  renameSync(`${file}.tmp`, file);
  const queueIds = () => JSON.parse(readFileSync(file, 'utf8')).entries.map((e) => e.id);

  await frame.fill('#filter', 'status:queued');
  await expect.poll(names, { timeout: 30_000 }).toEqual(['resnet/q1', 'resnet/q2']);
  expect(await frame.textContent('#row-count')).toBe('2 of 1006 runs');
  expect(await cell('resnet/q1', 'status')).toBe('queued #1');
  expect(await cell('resnet/q2', 'status')).toBe('queued #2');
  expect(await cell('resnet/q1', 'config:optimizer.lr')).toBe('0.3');
  expect(await cell('resnet/q2', 'name')).toBe('resnet/q2--model.backbone.depth 101');
  // Runs' actions are off for queued rows; the queue's are on.
  await frame.click('tr.row[data-name="resnet/q2"] input.select');
  for (const id of ['compare', 'report', 'export', 'delete', 'star']) expect(await frame.$eval(`#${id}`, (b) => b.disabled), id).toBe(true);
  for (const id of ['queue-up', 'queue-down', 'queue-remove']) expect(await frame.$eval(`#${id}`, (b) => b.disabled), id).toBe(false);
  await vs.screenshot('queued-rows');

  await frame.click('#queue-up');
  await expect.poll(queueIds, { timeout: 15_000 }).toEqual(['q2', 'q1']);
  await expect.poll(() => cell('resnet/q2', 'status'), { timeout: 15_000 }).toBe('queued #1');
  await frame.click('#queue-remove');
  await expect.poll(queueIds, { timeout: 15_000 }).toEqual(['q1']);
  await expect.poll(names, { timeout: 15_000 }).toEqual(['resnet/q1']);
  expect(await frame.textContent('#row-count')).toBe('1 of 1005 runs');
  expect(await frame.$eval('#queue-remove', (b) => b.disabled)).toBe(true);
  await vs.screenshot('queued-removed');
});

test('a started queue entry is shown once: starting while it has no run.json, then as its run', async () => {
  // q1 as the queue runner leaves an entry it started: running, its run directory chosen, a live pid (this process).
  const file = vs.path('work_dirs/.queue.json');
  const q = JSON.parse(readFileSync(file, 'utf8'));
  Object.assign(q.entries[0], { state: 'running', runDir: vs.path('work_dirs/resnet/q1-run'), pid: process.pid, host: hostname(), started: new Date().toISOString() });
  writeFileSync(`${file}.tmp`, JSON.stringify(q));
  renameSync(`${file}.tmp`, file);
  await frame.fill('#filter', 'q1');
  await expect.poll(() => cell('resnet/q1', 'status').catch(() => undefined), { timeout: 15_000 }).toBe('starting');
  expect(await names()).toEqual(['resnet/q1']);

  const { [`work_dirs/resnet/q1-run/run.json`]: info, ...rest } = run('q1-run', { lr: 0.3, depth: 18, acc: 0.5, minutes: 1 });
  for (const [rel, text] of Object.entries(rest)) {
    mkdirSync(join(vs.path(rel), '..'), { recursive: true });
    writeFileSync(vs.path(rel), text);
  }
  writeFileSync(vs.path('work_dirs/resnet/q1-run/run.json'), JSON.stringify({ ...JSON.parse(info), status: 'running', ended: undefined }));
  await expect.poll(names, { timeout: 30_000 }).toEqual(['resnet/q1-run']);
  expect(await frame.textContent('#row-count')).toBe('1 of 1005 runs');
  expect(JSON.parse(readFileSync(file, 'utf8')).entries.map((e) => [e.id, e.state])).toEqual([['q1', 'running']]);
  await vs.screenshot('queued-started');
});
