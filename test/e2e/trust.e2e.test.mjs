// Workspace trust (issue 23.1), through the UI: VS Code with workspace trust on and the folder not
// trusted (Restricted Mode, no start-up prompt). The workspace's custom module leaves a marker
// file when it is loaded. Untrusted: the language features work without loading it (an
// information problem on `custom_imports` says why), and Train is refused with a button that
// manages trust. Trusting the folder from that button re-validates: the module loads and its
// component is checked. Then the host's side of the webview contract (issue 23.6): a page that
// names a run it does not show, or a file outside its run, is refused. Screenshots of each step go
// to test-results/trust/.
/* global window */ // used only inside functions that run in the page
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchVSCode } from './harness.mjs';

const CONFIG = `custom_imports: [../modules/marker_neck.js]
model:
  type: Classification
  backbone: {type: ResNet, depth: 18}
  neck: {type: MarkerNeck, gain: 2}
  head: {type: ClsHead, num_classes: 10}
`;

// Loading this module is running workspace code: the marker proves whether it happened.
const MODULE = `const fs = require('node:fs');
const path = require('node:path');
fs.writeFileSync(path.join(__dirname, '..', 'loaded.marker'), String(process.pid));
const { register, z } = require('cv-workbench');
register('neck', { type: 'MarkerNeck', description: 'A neck of the workspace', params: z.strictObject({ width: z.number().default(4) }) });
`;

/** @type {import('./harness.mjs').VSCodeSession} */
let vs;

beforeAll(async () => {
  vs = await launchVSCode({
    name: 'trust',
    workspace: {
      'configs/custom.yaml': CONFIG,
      'modules/marker_neck.js': MODULE,
      'work_dirs/cfg/run1/run.json': JSON.stringify({ status: 'finished', config_stem: 'cfg', run_id: 'run1' }),
      'work_dirs/cfg/run1/log.txt': 'the log inside the run\n',
      // Queued from a terminal (`cvw queue add`), or committed with the repository: served only once
      // the workspace is trusted, and started only when the person says so.
      'work_dirs/.queue.json': JSON.stringify({ version: 1, paused: false, seq: 1, entries: [{ id: 'q1', config: 'configs/custom.yaml', overrides: ['--max-iters', '1'], added: '2026-12-06T10:00:00.000Z', state: 'queued' }] }),
    },
    workspaceTrust: true,
    settings: {
      'security.workspace.trust.enabled': true,
      // No modal question at start-up: the folder simply opens in Restricted Mode.
      'security.workspace.trust.startupPrompt': 'never',
      'security.workspace.trust.banner': 'never',
    },
  });
});

afterAll(async () => {
  await vs?.close();
});

/** The queue entry's state (and why it failed), as work_dirs/.queue.json says. */
const queued = () => {
  const { state, reason } = JSON.parse(readFileSync(vs.path('work_dirs/.queue.json'), 'utf8')).entries[0];
  return reason ? { state, reason } : { state };
};

const ofConfig = (ps) => ps.filter((p) => p.file === 'configs/custom.yaml').map(({ severity, message, line, column }) => ({ severity, message, line, column }));

test('untrusted: diagnostics and completion work without running the custom module', async () => {
  await vs.openFile('configs/custom.yaml');
  const problems = await vs.waitForProblems((ps) => ofConfig(ps).length === 2 && ofConfig(ps).some((p) => p.message.startsWith('custom_imports not loaded')));
  expect(ofConfig(problems)).toEqual([
    {
      severity: 'info',
      message: 'custom_imports not loaded: this workspace is not trusted (Restricted Mode), and loading them would run its code; trust the workspace to check them; the components of marker_neck.js are unknown here and not checked',
      line: 1,
      column: 1,
    },
    { severity: 'info', message: 'unknown neck "MarkerNeck" — did you mean "MAENeck"? (custom_imports not loaded)', line: 5, column: 16 },
  ]);
  // Completion inside "MarkerNeck" (the prefix "Mark") asks the registry, which must not load the module either.
  await vs.goTo(5, 20);
  expect(await vs.suggestions()).not.toContain('MarkerNeck');
  expect(existsSync(vs.path('loaded.marker'))).toBe(false);
  expect(queued()).toEqual({ state: 'queued' });
});

test('untrusted: Train is refused with a message that offers to manage trust; trusting re-validates and loads the module', async () => {
  await vs.runCommand('CV Workbench: Train');
  const text = await vs.waitForNotification('Train is not available: this workspace is not trusted');
  expect(text).toContain("it would run the workspace's code (custom_imports, its node_modules/cv-workbench)");
  expect(existsSync(vs.path('work_dirs/custom'))).toBe(false);
  expect(existsSync(vs.path('loaded.marker'))).toBe(false);

  // The notification's button opens VS Code's Workspace Trust editor; trust the folder there.
  const { page } = vs;
  await page.locator('.notifications-toasts .notification-toast', { hasText: 'Train is not available' }).locator('.monaco-button', { hasText: 'Manage Workspace Trust' }).click();
  const trust = page.locator('.workspace-trust-editor .workspace-trust-buttons a.monaco-button', { hasText: /^Trust$/ });
  await trust.first().waitFor({ timeout: 20_000 });
  await vs.screenshot('trust-editor');
  await trust.first().click();

  // Trusted now: the module ran, its component is known, and its parameters are checked.
  const problems = await vs.waitForProblems((ps) => ofConfig(ps).length > 0 && ofConfig(ps).every((p) => p.severity === 'error'), { timeout: 30_000 });
  expect(ofConfig(problems)).toEqual([{ severity: 'error', message: 'unknown key "gain" in neck "MarkerNeck" (model.neck) (known: width)', line: 5, column: 28 }]);
  expect(existsSync(vs.path('loaded.marker'))).toBe(true);
  // The run queue is served from now on, without a reload, but trust alone starts nothing: a
  // notification names what the queue holds. Start Queue starts its entry (which fails on the
  // config's error, the one shown above).
  const held = await vs.waitForNotification('The run queue of');
  expect(held).toContain('"configs/custom.yaml"');
  expect(queued()).toEqual({ state: 'queued' });
  await page.locator('.notifications-toasts .notification-toast', { hasText: 'The run queue of' }).locator('.monaco-button', { hasText: 'Start Queue' }).click();
  await expect.poll(() => queued().state, { timeout: 60_000 }).toBe('failed');
  expect(queued().reason).toMatch(/gain/);
  await vs.openFile('configs/custom.yaml');
  await vs.goTo(5, 20);
  // (Not vs.suggestions(): the widget keeps the earlier "No suggestions" message in its DOM.)
  // Asked again until it shows: a Ctrl+Space that lands while the editor is still taking focus
  // after openFile is lost (seen once in a full CI run).
  const markerNeck = page.locator('.editor-widget.suggest-widget.visible .monaco-list-row[aria-label^="MarkerNeck"]');
  for (let tries = 1; ; tries++) {
    await page.keyboard.press('Control+Space');
    const shown = await markerNeck.waitFor({ timeout: 5_000 }).then(() => true, () => false);
    if (shown) break;
    if (tries === 6) throw new Error('the MarkerNeck completion did not show after 6 tries of Ctrl+Space');
    await page.keyboard.press('Escape');
  }
  await vs.screenshot('suggestions-trusted');
  await page.keyboard.press('Escape');
});

test('a panel page that names a run it does not show, or a file outside its run, is refused', async () => {
  // Outside the workspace folder: a file, and a run directory with a log of its own.
  const outside = dirname(vs.workspace);
  const secret = join(outside, 'secret.txt');
  const otherRun = join(outside, 'other', 'run1');
  writeFileSync(secret, 'not for the page\n');
  mkdirSync(otherRun, { recursive: true });
  writeFileSync(join(otherRun, 'run.json'), JSON.stringify({ status: 'finished' }));
  writeFileSync(join(otherRun, 'log.txt'), 'the log outside\n');

  await vs.runCommand('CV Workbench: Open Run Dashboard', { opensQuickPick: true });
  await vs.pick('cfg/run1');
  const frame = await vs.webviewFrame('Run cfg/run1');
  // What a compromised page can do: post any message through the webview's channel to the host
  // (the function its acquireVsCodeApi().postMessage calls, in the frame around the page).
  const host = frame.parentFrame();
  const post = (message) => host.evaluate((m) => window.__vscode_post_message__('onmessage', { message: m, transfer: [] }), message);
  await post({ type: 'openFile', file: secret });
  await post({ type: 'openFile', file: `${vs.path('work_dirs/cfg/run1')}/../../../../secret.txt` });
  await post({ type: 'runAction', action: 'openLog', dir: otherRun });
  await post({ type: 'generateReport', dir: otherRun });
  // The control: the same channel, the run the panel shows — this one opens.
  await post({ type: 'runAction', action: 'openLog', dir: vs.path('work_dirs/cfg/run1') });
  await vs.activeTab('log.txt');
  const { page } = vs;
  await page.locator('.editor-group-container.active .view-lines', { hasText: 'the log inside the run' }).waitFor({ timeout: 15_000 });
  await vs.screenshot('forged-messages');
  const tabs = await page.locator('.tabs-container .tab .label-name').allTextContents();
  expect(tabs.filter((t) => t === 'log.txt')).toHaveLength(1);
  expect(tabs).not.toContain('secret.txt');
  expect(existsSync(join(otherRun, 'report'))).toBe(false);
  const output = await vs.outputChannel('CV Workbench');
  expect(output.match(/\[dashboard panel\] refused (openFile|runAction|generateReport)/g)).toEqual([
    '[dashboard panel] refused openFile',
    '[dashboard panel] refused openFile',
    '[dashboard panel] refused runAction',
    '[dashboard panel] refused generateReport',
  ]);
});

test('a panel whose saved state was changed to name a run outside the workspace is not revived after a reload', async () => {
  const otherRun = join(dirname(vs.workspace), 'other', 'run1');
  await vs.runCommand('CV Workbench: Open Run Dashboard', { opensQuickPick: true });
  await vs.pick('cfg/run1');
  const frame = await vs.webviewFrame('Run cfg/run1');
  // The page's setState, with a run directory it was never shown: on revive it would become a localResourceRoots entry.
  const forged = { kind: 'dashboard', dir: otherRun, chart: { x: 'iter', smoothing: 0, logScale: false } };
  await frame.parentFrame().evaluate((s) => window.__vscode_post_message__('do-update-state', JSON.stringify(s)), forged);
  // VS Code saves webview state with its editor every few seconds (see panels.e2e.test.mjs).
  await vs.page.waitForTimeout(7000);
  await vs.reload();
  // The serializer runs, finds a run outside the workspace, and closes the panel.
  await vs.page.locator('.tabs-container .tab', { hasText: 'Run cfg/run1' }).waitFor({ state: 'detached', timeout: 60_000 });
  await vs.screenshot('forged-state-not-revived');
});
