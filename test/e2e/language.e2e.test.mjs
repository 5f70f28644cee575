// Layer (b): the config language features through the UI, as a person uses them: completion in a
// backbone slot, and a misspelt backbone fixed by its quick fix. Screenshots of each step go to
// test-results/ui-language/.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bundleCli, fixture, launchVSCode } from './harness.mjs';

/** @type {import('./harness.mjs').VSCodeSession} */
let vs;

beforeAll(async () => {
  vs = await launchVSCode({ name: 'ui-language', workspace: fixture('workspace') });
});

afterAll(async () => {
  await vs?.close();
});

/** The registered backbones, as `cvw schema` lists them. */
async function backbones() {
  const schema = JSON.parse(execFileSync(process.execPath, [await bundleCli(), 'schema'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  return [...schema.$defs.backbone.properties.type.enum].sort();
}

test('completion in a backbone slot shows the backbones and nothing else', async () => {
  await vs.openFile('configs/bad.yaml');
  // The extension activates on opening YAML; until its providers are registered, Ctrl+Space gets
  // VS Code's word-based list (once in a full CI run). Its diagnostic on the file says it is ready.
  await vs.waitForProblems((ps) => ps.some((p) => p.file === 'configs/bad.yaml' && p.message.includes('"ResNte"')));
  await vs.goTo(4, 17); // after "    type: ResNte"
  for (let i = 0; i < 'ResNte'.length; i++) await vs.page.keyboard.press('Backspace');
  const labels = await vs.suggestions();
  expect([...labels].sort()).toEqual(await backbones());
  expect(labels).toContain('ResNet');
});

test('a misspelt backbone: the diagnostic appears, the quick fix replaces it, the diagnostic is gone', async () => {
  // The line reads "    type: " after the previous test; type the mistake.
  await vs.type('ResNte');
  await vs.page.keyboard.press('Escape'); // close suggestions that typing may have opened
  const problems = await vs.waitForProblems((ps) => ps.some((p) => p.file === 'configs/bad.yaml' && p.message.includes('"ResNte"')));
  expect(problems.find((p) => p.file === 'configs/bad.yaml')).toMatchObject({ message: 'unknown backbone "ResNte" — did you mean "ResNet"?', line: 4, column: 11, source: 'cvw' });

  await vs.goTo(4, 13);
  await vs.page.keyboard.press('Control+.');
  const fix = vs.page.locator('.action-widget .monaco-list-row', { hasText: 'Change to "ResNet"' }).first();
  await fix.waitFor({ timeout: 15_000 });
  await vs.screenshot('quick-fix-menu');
  // The preferred fix is the first, focused row: accept it as a person would, with Enter.
  await vs.page.keyboard.press('Enter');
  await vs.waitForProblems((ps) => !ps.some((p) => p.file === 'configs/bad.yaml'));
  await vs.page.locator('.editor-instance .view-line', { hasText: /^\s*type:\sResNet$/ }).first().waitFor({ timeout: 10_000 });
  await vs.screenshot('fixed');
});
