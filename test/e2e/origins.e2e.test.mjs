/* global getComputedStyle */ // used only inside functions that run in the page
// "Where each value came from" in real VS Code: a config whose values are set in two `_base_`
// files, overridden by the config and on the command line; Show Resolved Config opens the merged
// config, whose inlay hints and hovers name the file and line (or the override) that set each
// value; the hover's link opens that line, and the hint links there (Ctrl+click, and its hover
// previews that place). Screenshots of each step go to test-results/ui-origins/.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchVSCode } from './harness.mjs';

const WORKSPACE = {
  'configs/_base_/model.yaml': 'model:\n  type: Classification\n  backbone: {type: ResNet, depth: 50}\n  head: {type: ClsHead, num_classes: 10}\n',
  'configs/_base_/schedule.yaml': 'optimizer:\n  type: SGD\n  lr: 0.1\n  momentum: 0.9\nrunner:\n  max_epochs: 100\n  log_interval: 5\n',
  'configs/exp.yaml': '_base_: [_base_/model.yaml, _base_/schedule.yaml]\nmodel:\n  backbone:\n    depth: 18\nrunner:\n  max_epochs: 20\n',
  // A child's deliberate value that a later sibling of the _base_ list undoes.
  'configs/shadow/child.yaml': '_base_: ../_base_/schedule.yaml\noptimizer:\n  lr: 0.01\n',
  'configs/shadow/patch.yaml': 'optimizer: {lr: 0.5}\n',
  'configs/shadow/exp.yaml': '_base_: [../_base_/model.yaml, child.yaml, patch.yaml]\n',
};

/** @type {import('./harness.mjs').VSCodeSession} */
let vs;

beforeAll(async () => {
  vs = await launchVSCode({ name: 'ui-origins', workspace: WORKSPACE });
});

afterAll(async () => {
  await vs?.close();
});

/** The rendered text of the active editor's line that contains `text` (inlay hints included). */
async function lineWith(text) {
  const line = vs.page.locator('.editor-group-container.active .monaco-editor .view-lines .view-line', { hasText: text }).first();
  await line.waitFor({ timeout: 15_000 });
  return line;
}

/** Wait until the line with `text` shows its hint (`←`), and return the line's text. */
async function hintedLine(text) {
  const line = await lineWith(text);
  await expect.poll(async () => (await line.textContent()) ?? '', { timeout: 15_000 }).toContain('←');
  return ((await line.textContent()) ?? '').replace(/\u00a0/g, ' ');
}

/** Point the mouse at the key of the line with `text`, as a person does, and return the hover's text (left open). */
async function hoverOn(text) {
  const { page } = vs;
  const line = await lineWith(text);
  const key = line.locator('span', { hasText: new RegExp(`^${text.split(':')[0]}$`) }).first();
  await page.mouse.move(0, 0);
  await key.hover();
  const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: /Set |default/ }).first();
  await hover.waitFor({ timeout: 15_000 });
  await expect.poll(async () => (await hover.textContent()) ?? '').toContain(text.split(':')[0]);
  await page.waitForTimeout(300); // the hover fades in
  await vs.screenshot(`hover-${text}`);
  return { hover, text: ((await hover.textContent()) ?? '').replace(/\u00a0/g, ' ') };
}

test('Show Resolved Config: each value names the base file, the config or the override that set it', async () => {
  await vs.openFile('configs/exp.yaml');
  await vs.runCommand('CV Workbench: Show Resolved Config', { opensQuickPick: true });
  await vs.page.keyboard.type('--runner.max_epochs 5');
  await vs.page.keyboard.press('Enter');
  await vs.activeTab('exp (resolved).yaml');

  // Inlay hints at the end of each value's line.
  expect(await hintedLine('lr: 0.1')).toMatch(/^\s*lr: 0\.1\s+← configs\/_base_\/schedule\.yaml:3:3\s*$/);
  expect(await hintedLine('depth: 18')).toMatch(/^\s*depth: 18\s+← configs\/exp\.yaml:4:5\s*$/);
  expect(await hintedLine('max_epochs: 5')).toMatch(/^\s*max_epochs: 5\s+← override --runner\.max_epochs 5\s*$/);
  expect(await hintedLine('log_interval: 5')).toMatch(/← configs\/_base_\/schedule\.yaml:7:3/);
  await vs.screenshot('resolved-config-hints');

  // Hovers say the same, with a link.
  const epochs = (await hoverOn('max_epochs: 5')).text;
  expect(epochs).toContain('runner.max_epochs');
  expect(epochs).toContain('Set on the command line');
  expect(epochs).toContain('--runner.max_epochs 5');
  // ... and what it replaced: the config's value, which had replaced the base's.
  expect(epochs).toContain('Overrides configs/exp.yaml:6:3 (20), configs/_base_/schedule.yaml:6:3 (100)');
  const lr = (await hoverOn('lr: 0.1')).text;
  expect(lr).toContain('optimizer.lr');
  expect(lr).toContain('Set by configs/_base_/schedule.yaml:3:3');
});

test('the hover links to the line that set the value', async () => {
  const { hover } = await hoverOn('lr: 0.1');
  await hover.locator('a', { hasText: 'configs/_base_/schedule.yaml:3:3' }).click();
  await vs.activeTab('schedule.yaml');
  await expect.poll(async () => (await vs.statusBarItems()).join(' | '), { timeout: 15_000 }).toContain('Ln 3, Col 3');
  await vs.screenshot('hover-link-opened-schedule-yaml');
  // Back to the resolved view for the next test.
  await vs.page.locator('.tabs-container .tab', { hasText: 'exp (resolved).yaml' }).click();
  await vs.activeTab('exp (resolved).yaml');
});

test("a hint is a link to the line that set the value: hovering it shows that line's own hover", async () => {
  const { page } = vs;
  const line = await lineWith('depth: 18');
  const hint = line.locator('span', { hasText: '← configs/exp.yaml:4:5' }).last();
  await page.mouse.move(0, 0);
  await hint.hover();
  const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: 'Open exp.yaml' }).first();
  await hover.waitFor({ timeout: 15_000 });
  // VS Code previews a hint's link target with the hover of that place: the config hover of the
  // key `depth` in exp.yaml (line 4), which a wrong line or file would not show.
  await expect.poll(async () => (await hover.textContent()) ?? '', { timeout: 15_000 }).toContain('Parameter of backbone ResNet');
  expect(((await hover.textContent()) ?? '').replace(/\s+/g, ' ')).toContain('Open exp.yaml at the line that set model.backbone.depth');
  await vs.screenshot('hint-hover');
  // Holding Ctrl turns the hint into a link (underlined), as Go to Definition does.
  await page.keyboard.down('Control');
  await page.mouse.move(0, 0);
  await hint.hover();
  await expect.poll(async () => hint.evaluate((el) => getComputedStyle(el).textDecorationLine), { timeout: 10_000 }).toContain('underline');
  await vs.screenshot('hint-as-link');
  await page.keyboard.up('Control');
});

test('a value that never applies is a warning at the line that wrote it', async () => {
  await vs.openFile('configs/shadow/exp.yaml');
  const problems = await vs.waitForProblems((ps) => ps.some((p) => p.file === 'configs/shadow/child.yaml'));
  const shadow = problems.filter((p) => p.file?.startsWith('configs/shadow/'));
  expect(shadow).toHaveLength(1);
  expect(shadow[0]).toMatchObject({
    file: 'configs/shadow/child.yaml',
    severity: 'warning',
    message:
      'optimizer.lr: 0.01 here never applies: patch.yaml:1:13 sets it again, later in the _base_ list of exp.yaml, and does not inherit from this file (set the value in exp.yaml, or reorder its _base_ list)',
    source: 'cvw',
    line: 3,
    column: 3,
  });
  expect(shadow[0].code).toContain('shadowed-value');
});
