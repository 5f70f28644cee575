// The extension stands alone (issue 25): the linux-x64 VSIX of scripts/package-vsix.mjs installed
// into code-server, a workspace with no node_modules (only the committed JPEG/PNG sample and the
// image-folder template), Train pressed above the config: the run finishes on wasm-ort, with sharp
// and onnxruntime-node taken from the VSIX. Needs the npm registry (the native packages).
// Screenshots: test-results/ui-vsix/.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchVSCode } from './harness.mjs';
import { REPO_ROOT } from './lib/paths.mjs';

/** @type {import('./harness.mjs').VSCodeSession} */
let vs;
const tmp = mkdtempSync(join(tmpdir(), 'cvw-e2e-vsix-'));

/** The image-folder template on data/images-sample, 2 iterations. */
function workspaceFolder() {
  const ws = join(tmp, 'images-workspace');
  cpSync(join(REPO_ROOT, 'data', 'images-sample'), join(ws, 'data', 'images-sample'), { recursive: true });
  const template = readFileSync(join(REPO_ROOT, 'templates', 'Classification.yaml'), 'utf8');
  const config = template
    .replace(/root: data\/(train|val)\b/g, 'root: data/images-sample')
    .replace(/^runner: .*$/m, 'runner: { max_iters: 2, log_interval: 1 }');
  if (config === template || !/max_iters: 2/.test(config)) throw new Error('templates/Classification.yaml changed: update this test');
  mkdirSync(join(ws, 'configs'), { recursive: true });
  writeFileSync(join(ws, 'configs', 'images.yaml'), config);
  return ws;
}

beforeAll(async () => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  const { packageVsix } = await import(join(REPO_ROOT, 'scripts', 'package-vsix.mjs'));
  const [made] = await packageVsix({ targets: ['linux-x64'], outDir: join(tmp, 'out'), cache: join(tmpdir(), 'cvw-vsix-cache') });
  vs = await launchVSCode({ name: 'ui-vsix', workspace: workspaceFolder(), vsix: made.vsix });
}, 600_000);

afterAll(async () => {
  await vs?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test.runIf(process.platform === 'linux' && process.arch === 'x64')('Train above the image-folder config, nothing installed by npm: finished on wasm-ort', async () => {
  expect(existsSync(join(vs.workspace, 'node_modules'))).toBe(false);
  await vs.openFile('configs/images.yaml');
  const lens = vs.page.locator('.monaco-editor .codelens-decoration a', { hasText: 'Train' }).first();
  await lens.waitFor({ timeout: 60_000 });
  await lens.click();
  await vs.quickInputFocused();
  await vs.page.keyboard.press('Enter');
  await vs.screenshot('train-started');
  const runs = join(vs.workspace, 'work_dirs', 'images');
  let status;
  const deadline = Date.now() + 200_000;
  for (;;) {
    const [run] = existsSync(runs) ? readdirSync(runs) : [];
    const file = run && join(runs, run, 'run.json');
    status = file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
    if (status && !['running', 'starting'].includes(status.status)) break;
    if (Date.now() > deadline) throw new Error(`the run did not end in time: ${JSON.stringify(status)}`);
    await vs.page.waitForTimeout(1000);
  }
  await vs.screenshot('train-ended');
  const log = readFileSync(join(runs, status.run_id, 'log.txt'), 'utf8');
  expect(status.status, log).toBe('finished');
  expect(status.iter).toBe(2);
  expect(status.engine.engine).toBe('wasm-ort');
  // The engine line of the run, as the terminal showed it.
  expect(log).toMatch(/engine: wasm-ort on CPU: .*onnxruntime-node 1\.30\.0/);
  // The bundled CLI ran (no workspace cv-workbench), from the installed VSIX.
  expect(status.command[0]).toMatch(/[/\\]dist[/\\]cli[/\\]cvw\.js$/);
  expect(status.command[0].startsWith(vs.workspace)).toBe(false);
  expect(await vs.waitForNotification(/finished in/, { timeout: 30_000 })).toMatch(/^Run images\/\S+ finished in/);
});

test.runIf(process.platform === 'linux' && process.arch === 'x64')("the walkthrough's Create Sample Workspace copies the samples the VSIX carries and opens the config", async () => {
  await vs.clearNotifications();
  await vs.runCommand('CV Workbench: Create Sample Workspace');
  expect(await vs.waitForNotification(/^Sample workspace: \d+ files written/, { timeout: 30_000 })).toMatch(/files written \(data\/fashion-mnist-sample, data\/images-sample, configs\/\)/);
  for (const f of ['data/fashion-mnist-sample/train-images-idx3-ubyte.gz', 'configs/_base_/default_runtime.yaml', 'configs/classification/resnet18_fashion_mnist_sample.yaml']) {
    expect(existsSync(join(vs.workspace, f)), f).toBe(true);
  }
  // The sample config is open, ready for its Train lens.
  await vs.page.locator('.tab.active', { hasText: 'resnet18_fashion_mnist_sample.yaml' }).waitFor({ timeout: 15_000 });
  // The image folder was there already (the first test's data): kept as it was.
  expect(readdirSync(join(vs.workspace, 'data', 'images-sample', 'bag')).sort()).toEqual(readdirSync(join(REPO_ROOT, 'data', 'images-sample', 'bag')).sort());
});
