// Layer (b) for the runs feature: a person presses Train above a config and watches the Runs view
// (activity bar) show the run running, then finished with its final metric; then starts a longer
// run, sees the status bar follow it, and stops it from the view; Browse Views draws a config's
// training views. Screenshots: test-results/ui-runs/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchVSCode } from './harness.mjs';
import { runsWorkspace } from './runsWorkspace.mjs';

/** @type {import('./harness.mjs').VSCodeSession} */
let vs;

beforeAll(async () => {
  vs = await launchVSCode({ name: 'ui-runs', workspace: runsWorkspace() });
});

afterAll(async () => {
  await vs?.close();
});

/** The Runs view's rows as their accessible labels ("<config> <run id>: <status> · ..."). */
async function runRows() {
  return vs.sidebarRows();
}

/** Poll the Runs view until a row satisfies `predicate(label)`; returns that label. */
async function waitForRow(predicate, { timeout = 120_000, what = 'a run row' } = {}) {
  const deadline = Date.now() + timeout;
  let rows = [];
  for (;;) {
    rows = await runRows();
    const hit = rows.find(predicate);
    if (hit) return hit;
    if (Date.now() > deadline) {
      await vs.screenshot('runs-view-timeout');
      throw new Error(`the Runs view never showed ${what}; rows: ${JSON.stringify(rows)}`);
    }
    await vs.page.waitForTimeout(250);
  }
}

async function showRunsView() {
  await vs.runCommand('View: Show CV Workbench');
  await vs.page.locator('.part.sidebar .monaco-list-row').first().waitFor({ timeout: 30_000 });
}

/** Press the CodeLens titled `title` above the open config, and accept the arguments box as it is. */
async function pressLens(title) {
  const lens = vs.page.locator('.monaco-editor .codelens-decoration a', { hasText: title }).first();
  await lens.waitFor({ timeout: 30_000 });
  await lens.click();
  await vs.quickInputFocused();
  await vs.screenshot(`arguments-${title}`);
  await vs.page.keyboard.press('Enter');
}

test('the Runs view lists the run already in work_dirs', async () => {
  await showRunsView();
  const row = await waitForRow((l) => l.startsWith('tiny 20260101-120000:'), { what: 'the old run' });
  expect(row).toMatch(/: finished · .* · 42s · loss 2\.25 · val\/accuracy_top1 0\.25$/);
  await vs.screenshot('runs-view');
});

test('pressing Train above a config starts a run: the view shows it running, then finished with its final metric', async () => {
  await vs.openFile('configs/tiny.yaml');
  await pressLens('Train');
  const isNew = (l) => l.startsWith('tiny ') && !l.startsWith('tiny 20260101-120000');
  await waitForRow((l) => isNew(l) && /: (running|finished) · /.test(l), { timeout: 60_000, what: 'the new run' });
  await vs.screenshot('run-started');
  const finished = await waitForRow((l) => isNew(l) && /: finished · .* · val\/accuracy_top1 [\d.]+$/.test(l), { what: 'the new run finished' });
  expect(finished).toMatch(/loss [\d.]+/);
  expect(await vs.waitForNotification(/finished in .*val\/accuracy_top1/, { timeout: 30_000 })).toMatch(/^Run tiny\/\S+ finished in/);
});

test('Browse Views above a config draws its training views and opens the picture', async () => {
  await vs.openFile('configs/tiny.yaml');
  const lens = vs.page.locator('.monaco-editor .codelens-decoration a', { hasText: 'Browse Views' }).first();
  await lens.waitFor({ timeout: 30_000 });
  await lens.click();
  await vs.activeTab('tiny_train_e0.png');
  // 8 rows (samples) of 2 cells (the image, its one view) at 128 px with 4 px gaps, shown by VS Code's image preview.
  const size = [4 + 2 * 132, 4 + 8 * 132];
  const png = readFileSync(join(vs.workspace, 'work_dirs', 'browse', 'tiny_train_e0.png'));
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual(size);
  const shown = async () => {
    for (const frame of vs.page.frames()) {
      const dims = await frame.$$eval('img', (imgs) => imgs.filter((i) => i.src.includes('tiny_train_e0.png') && i.naturalWidth > 0).map((i) => [i.naturalWidth, i.naturalHeight])).catch(() => []);
      if (dims.length) return dims[0];
    }
    return undefined;
  };
  const deadline = Date.now() + 30_000;
  let dims;
  while (!(dims = await shown()) && Date.now() < deadline) await vs.page.waitForTimeout(250);
  expect(dims).toEqual(size);
  await vs.screenshot('browse-views');
  // Close the picture: its webview holds the keyboard, which the next tests' palette needs.
  await vs.page.locator('.tabs-container .tab.active .action-label.codicon-close').click();
  await vs.activeTab('tiny.yaml');
});

test('a longer run shows in the status bar; Stop in the Runs view stops it with a last checkpoint', async () => {
  await vs.clearNotifications();
  await vs.openFile('configs/long.yaml');
  await pressLens('Train');
  const running = await waitForRow((l) => l.startsWith('long ') && /: running · /.test(l), { timeout: 60_000, what: 'the long run running' });
  const id = running.split(':')[0].split(' ')[1];
  const deadline = Date.now() + 60_000;
  let items = [];
  // Once its first training record is read, its speed and memory too (the terminal's "mem ... GB").
  while (!(items = await vs.statusBarItems()).some((t) => /long · epoch 1\/\d+ · iter \d+\/2000 · .* samples\/s · mem [\d.]+ GB$/.test(t))) {
    if (Date.now() > deadline) throw new Error(`no status bar item for the run: ${JSON.stringify(items)}`);
    await vs.page.waitForTimeout(250);
  }
  await vs.screenshot('status-bar');
  const row = vs.page.locator(`.part.sidebar .monaco-list-row[aria-label^="long ${id}:"]`);
  await row.hover();
  await row.locator('.actions .action-label[aria-label="Stop Run"]').click();
  // When the row redraws between mouse down and up, VS Code runs the action without its row and
  // the command asks which run to stop, as it does from the palette: answer it like a person.
  const asked = await vs.page
    .locator('.quick-input-widget .quick-input-title', { hasText: 'Stop which run?' })
    .waitFor({ timeout: 1500 })
    .then(() => true, () => false);
  if (asked) {
    await vs.page.locator('.quick-input-widget .monaco-list-row', { hasText: `long/${id}` }).first().click();
  }
  // A click that landed while the row was redrawn reaches no command (one full CI run): if the run
  // is not stopped after 30 s (a stop takes seconds), ask from the palette, as a person would.
  const stoppedSoon = await waitForRow((l) => l.startsWith(`long ${id}: stopped · `), { timeout: 30_000, what: 'the long run stopped' }).catch(() => undefined);
  if (!stoppedSoon) {
    await vs.runCommand('CV Workbench: Stop Run', { opensQuickPick: true });
    await vs.page.locator('.quick-input-widget .monaco-list-row', { hasText: `long/${id}` }).first().click();
  }
  const stopped = stoppedSoon ?? (await waitForRow((l) => l.startsWith(`long ${id}: stopped · `), { timeout: 90_000, what: 'the long run stopped' }));
  expect(stopped).toMatch(/loss [\d.]+$/);
  expect(await vs.waitForNotification(/stopped at iteration \d+ \(last checkpoint written\)/, { timeout: 30_000 })).toContain(`Run long/${id} stopped`);
  await vs.screenshot('stopped');
});
