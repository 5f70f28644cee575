// Layer (b): the extension through the UI, as a person uses it. Screenshots of each step go to
// test-results/ui-shell/.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bundleCli, fixture, launchVSCode } from './harness.mjs';

/** @type {import('./harness.mjs').VSCodeSession} */
let vs;

beforeAll(async () => {
  vs = await launchVSCode({ name: 'ui-shell', workspace: fixture('workspace') });
});

afterAll(async () => {
  await vs?.close();
});

/** What `cvw validate --json` says about workspace files, in the Problems panel's terms. */
async function cli(...rels) {
  const cvw = await bundleCli();
  let out;
  try {
    out = execFileSync(process.execPath, [cvw, 'validate', '--json', ...rels], { cwd: vs.workspace, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    out = err.stdout;
  }
  return JSON.parse(out).map((p) => ({ file: p.file.slice(vs.workspace.length + 1), severity: p.severity, message: p.message, line: p.line, column: p.column }));
}

test('opening an invalid config shows its problem in the Problems panel, where the CLI puts it', async () => {
  await vs.openFile('configs/bad.yaml');
  const problems = await vs.waitForProblems((ps) => ps.some((p) => p.file === 'configs/bad.yaml'));
  const shown = problems.map(({ file, severity, message, line, column }) => ({ file, severity, message, line, column }));
  expect(shown).toEqual([
    { file: 'configs/bad.yaml', severity: 'error', message: 'unknown backbone "ResNte" — did you mean "ResNet"?', line: 4, column: 11 },
  ]);
  expect(shown).toEqual(await cli('configs/bad.yaml'));
  expect(problems[0].source).toBe('cvw');
});

test('the commands are in the palette under "CV Workbench"', async () => {
  const titles = await vs.paletteCommands('CV Workbench');
  expect(titles).toEqual(expect.arrayContaining(['CV Workbench: Validate Config', 'CV Workbench: Validate All Configs', 'CV Workbench: Show Output']));
});

test('Validate All Configs, run from the palette, reports in a notification and in the output channel', async () => {
  await vs.runCommand('CV Workbench: Validate All Configs');
  expect(await vs.waitForNotification('3 configs: 1 error')).toContain('3 configs: 1 error');
  const output = await vs.outputChannel('CV Workbench');
  expect(output).toContain('configs/bad.yaml:4:11: error: unknown backbone "ResNte" — did you mean "ResNet"?');
  expect(output).toContain('1 error in 3 configs');
});

test('fixing the typo in the editor clears the problem as one types', async () => {
  await vs.openFile('configs/bad.yaml');
  await vs.goTo(4, 17); // after "ResNte"
  for (let i = 0; i < 'ResNte'.length; i++) await vs.page.keyboard.press('Backspace');
  await vs.type('ResNet');
  await vs.waitForProblems((ps) => !ps.some((p) => p.file === 'configs/bad.yaml'));
  expect(await vs.statusBarItems()).toContain('Ln 4, Col 17');
});

test("the explorer offers Train on a config and not on other YAML", async () => {
  const onConfig = await vs.explorerMenu('configs/good.yaml');
  expect(onConfig).toEqual(expect.arrayContaining(['Validate Config', 'Train', 'Debug Training']));
  const onOther = await vs.explorerMenu('docker-compose.yml');
  expect(onOther).toContain('Validate Config');
  expect(onOther).not.toContain('Train');
  expect(onOther).not.toContain('Debug Training');
});

test('suggestions() lists what completion offers (word-based completion in a text file)', async () => {
  await vs.openFile('notes.txt');
  await vs.goTo(2, 1);
  await vs.type('Clas');
  expect(await vs.suggestions()).toContain('Classification');
});

test('webviewFrame reaches inside a webview (the built-in Markdown preview)', async () => {
  await vs.openFile('README.md');
  await vs.runCommand('Markdown: Open Preview to the Side');
  const frame = await vs.webviewFrame('Preview README.md');
  await frame.locator('h1').waitFor();
  expect(await frame.locator('h1').textContent()).toBe('Sample workspace');
  await vs.screenshot('markdown-preview');
});

test('after a window reload the workbench comes back with the extension working', async () => {
  await vs.reload();
  await vs.openFile('configs/good.yaml');
  await vs.goTo(3, 1);
  await vs.type('seeed: 1');
  const problems = await vs.waitForProblems((ps) => ps.some((p) => p.file === 'configs/good.yaml'));
  expect(problems.find((p) => p.file === 'configs/good.yaml')).toMatchObject({ line: 3, column: 1, source: 'cvw' });
});
