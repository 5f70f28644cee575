// Layer (b) for the run queue: a person presses Queue Training twice above a config, sees the Queue
// group at the top of the Runs view start the first, reloads the window while it trains, and both
// finish: the run started before the reload is adopted (not started again), the second starts after
// it. Screenshots: test-results/ui-queue/.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchVSCode } from './harness.mjs';
import { runsWorkspace } from './runsWorkspace.mjs';

/** @type {import('./harness.mjs').VSCodeSession} */
let vs;

beforeAll(async () => {
  const workspace = runsWorkspace();
  // Long enough to be running across the reload, short enough for CI (a few seconds of wasm).
  workspace['configs/later.yaml'] = workspace['configs/tiny.yaml'].replace(/max_iters: \d+/, 'max_iters: 40');
  vs = await launchVSCode({ name: 'ui-queue', workspace });
});

afterAll(async () => {
  await vs?.close();
});

async function rows() {
  return vs.sidebarRows();
}

async function waitForRows(predicate, { timeout = 120_000, what = 'rows' } = {}) {
  const deadline = Date.now() + timeout;
  let seen = [];
  for (;;) {
    seen = await rows();
    if (predicate(seen)) return seen;
    if (Date.now() > deadline) {
      await vs.screenshot('queue-timeout');
      throw new Error(`the Runs view never showed ${what}; rows: ${JSON.stringify(seen)}`);
    }
    await vs.page.waitForTimeout(250);
  }
}

async function showRunsView() {
  await vs.runCommand('View: Show CV Workbench');
  await vs.page.locator('.part.sidebar .monaco-list-row').first().waitFor({ timeout: 30_000 });
}

const queueFile = () => JSON.parse(readFileSync(join(vs.workspace, 'work_dirs', '.queue.json'), 'utf8'));

test('Queue Training twice, reload the window while the first trains: both finish, each started once', async () => {
  await showRunsView();
  await vs.openFile('configs/later.yaml');
  for (let i = 0; i < 2; i++) {
    const lens = vs.page.locator('.monaco-editor .codelens-decoration a', { hasText: 'Queue Training' }).first();
    await lens.waitFor({ timeout: 30_000 });
    await lens.click();
    await vs.quickInputFocused();
    await vs.page.keyboard.press('Enter'); // the config as it is
    await vs.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
  }
  // The Queue group heads the view. The header is part of the wait, not asserted on the first
  // snapshot that shows both entries: the tree redraws its rows on each queue change, and one CI run
  // caught the entries drawn while the header's row was not (yet) in the list.
  const before = await waitForRows((r) => /^Queue/.test(r[0] ?? '') && r.some((l) => /^queued later\.yaml: running · q1/.test(l)) && r.some((l) => /^queued later\.yaml: queued · q2/.test(l)), { timeout: 60_000, what: 'the Queue group first, with q1 running and q2 queued' });
  expect(before.findIndex((l) => /^queued later\.yaml: running · q1/.test(l))).toBeGreaterThan(0);
  await vs.screenshot('queue-running');
  const first = queueFile().entries[0];
  expect(first).toMatchObject({ id: 'q1', config: 'configs/later.yaml', state: 'running' });

  // The harness's reload waits for the explorer's rows: leave the explorer showing.
  await vs.runCommand('View: Show Explorer');
  const runJson = (dir) => { try { return JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')); } catch { return undefined; } };
  expect(runJson(first.runDir)?.status ?? 'pending').not.toBe('finished'); // still training as the window goes
  const reloadedAt = Date.now();
  await vs.reload();
  await showRunsView();
  await vs.screenshot('queue-after-reload');
  // Both finish: the Queue group is gone (done entries leave it) and two queued runs show finished.
  await waitForRows((r) => !r.some((l) => /^queued /.test(l)) && r.filter((l) => /^later \d{8}-\d{6}\S*: finished/.test(l)).length === 2, { timeout: 180_000, what: 'both queued runs finished' });
  await vs.screenshot('queue-done');
  const q = queueFile();
  expect(q.entries.map((e) => e.state)).toEqual(['done', 'done']);
  expect(q.entries[0]).toMatchObject({ runDir: first.runDir, pid: first.pid }); // adopted, not restarted
  expect(Date.parse(q.entries[1].started)).toBeGreaterThan(reloadedAt); // started by the reloaded window's runner
  expect(readdirSync(join(vs.workspace, 'work_dirs', 'later')).sort()).toEqual(q.entries.map((e) => e.runDir.split('/').pop()).sort());
  for (const e of q.entries) expect(JSON.parse(readFileSync(join(e.runDir, 'run.json'), 'utf8'))).toMatchObject({ status: 'finished', iter: 40 });
});

/** Hover the row whose label starts with `prefix` and press its inline action `action`. */
async function pressInline(prefix, action) {
  const row = vs.page.locator(`.part.sidebar .monaco-list-row[aria-label^="${prefix}"]`).first();
  await row.hover();
  await row.locator(`.actions .action-label[aria-label="${action}"]`).click();
}

test('a paused queue starts nothing; Move Up, Remove and Resume in the Queue group edit the same file', async () => {
  await vs.runCommand('CV Workbench: Pause Queue');
  expect(queueFile().paused).toBe(true);
  await vs.openFile('configs/later.yaml');
  for (let i = 0; i < 2; i++) {
    await vs.page.locator('.monaco-editor .codelens-decoration a', { hasText: 'Queue Training' }).first().click();
    await vs.quickInputFocused();
    await vs.page.keyboard.press('Enter');
    await vs.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
  }
  await showRunsView();
  await waitForRows((r) => r.some((l) => /^queued later\.yaml: queued · q4/.test(l)) && r.some((l) => /^queued later\.yaml: queued · q3/.test(l)), { what: 'q3 and q4 queued' });
  await vs.page.waitForTimeout(2500); // a paused queue: still nothing starts
  expect(queueFile().entries.slice(2).map((e) => [e.id, e.state])).toEqual([['q3', 'queued'], ['q4', 'queued']]);
  await vs.screenshot('queue-paused');

  await pressInline('queued later.yaml: queued · q4', 'Move Up in Queue');
  await waitForRows((r) => r.findIndex((l) => / · q4/.test(l)) < r.findIndex((l) => / · q3/.test(l)), { timeout: 20_000, what: 'q4 above q3' });
  expect(queueFile().entries.map((e) => e.id)).toEqual(['q1', 'q2', 'q4', 'q3']);
  await pressInline('queued later.yaml: queued · q3', 'Remove from Queue');
  await waitForRows((r) => !r.some((l) => / · q3/.test(l)), { timeout: 20_000, what: 'q3 removed' });
  expect(queueFile().entries.map((e) => e.id)).toEqual(['q1', 'q2', 'q4']);
  await vs.screenshot('queue-reordered');

  await pressInline('Queue', 'Resume Queue');
  await waitForRows((r) => !r.some((l) => /^queued /.test(l)), { timeout: 180_000, what: 'q4 done' });
  const q = queueFile();
  expect(q.paused).toBe(false);
  expect(q.entries.map((e) => e.state)).toEqual(['done', 'done', 'done']);
  expect(JSON.parse(readFileSync(join(q.entries[2].runDir, 'run.json'), 'utf8'))).toMatchObject({ status: 'finished', iter: 40 });
});
