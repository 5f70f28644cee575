// scripts/bundles.mjs puts tfjs' WebGPU backend into the CLI bundle on the bundle's one tfjs-core.
// Built here on a package of stand-ins (tiny tfjs-core and backend modules that say who they are),
// laid out as npm can leave them: the backend with a tfjs-core of its own nested under it, which
// a plain bundle would take and the backend would register its kernels into.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { BuildOptions } from 'esbuild';
import { tempFiles } from '../helpers/tmp';

const REPO = path.join(__dirname, '..', '..');
const pkg = (name: string, version: string) => JSON.stringify({ name, version, main: 'index.js' });

function standIns(backendVersion: string) {
  return tempFiles({
    'package.json': pkg('cv-workbench', '0.0.0'),
    'node_modules/@tensorflow/tfjs-core/package.json': pkg('@tensorflow/tfjs-core', '4.22.0'),
    'node_modules/@tensorflow/tfjs-core/index.js': "exports.id = 'the package root\\'s tfjs-core';",
    'node_modules/@tensorflow/tfjs-backend-webgpu/package.json': pkg('@tensorflow/tfjs-backend-webgpu', backendVersion),
    'node_modules/@tensorflow/tfjs-backend-webgpu/index.js': "globalThis.backendLoaded = true; exports.registeredInto = require('@tensorflow/tfjs-core').id;",
    'node_modules/@tensorflow/tfjs-backend-webgpu/node_modules/@tensorflow/tfjs-core/package.json': pkg('@tensorflow/tfjs-core', '4.21.0'),
    'node_modules/@tensorflow/tfjs-backend-webgpu/node_modules/@tensorflow/tfjs-core/index.js': "exports.id = 'a nested tfjs-core';",
    'src/engine/bundledTfjsWebgpu.ts': fs.readFileSync(path.join(REPO, 'src', 'engine', 'bundledTfjsWebgpu.ts'), 'utf8'),
    'src/cli/main.ts': `import * as tf from '@tensorflow/tfjs-core';
import { bundledTfjsWebgpu } from '../engine/bundledTfjsWebgpu';
export const loadedAtStart = (globalThis as { backendLoaded?: boolean }).backendLoaded === true;
export const core = (tf as unknown as { id: string }).id;
export const bundled = bundledTfjsWebgpu && { version: bundledTfjsWebgpu.version, registeredInto: (bundledTfjsWebgpu.load() as { registeredInto: string }).registeredInto };`,
    'src/data/workers/sampleWorker.ts': `import { bundledTfjsWebgpu } from '../../engine/bundledTfjsWebgpu';
export const bundled = bundledTfjsWebgpu !== undefined;`,
  });
}

/** The CLI's bundles of scripts/bundles.mjs for `root` (without the asset step, which needs the real packages); their exports. */
async function buildCli(root: string): Promise<{ main: Record<string, unknown>; worker: Record<string, unknown> }> {
  // @ts-expect-error: a JavaScript build script without types
  const { bundleOptions } = (await import('../../scripts/bundles.mjs')) as { bundleOptions(root: string): BuildOptions[] };
  const esbuild = await import('esbuild');
  const cli = bundleOptions(root).filter((o) => o.outdir?.endsWith(`${path.sep}cli`));
  for (const o of cli) await esbuild.build({ ...o, plugins: o.plugins!.filter((p) => p.name !== 'cvw-cli-assets'), logLevel: 'silent' });
  delete (globalThis as { backendLoaded?: boolean }).backendLoaded;
  return { main: require(path.join(root, 'dist', 'cli', 'main.js')), worker: require(path.join(root, 'dist', 'cli', 'sampleWorker.js')) };
}

let cleanup = () => {};
afterEach(() => cleanup());

it('the CLI bundle carries the backend on the root tfjs-core (not the nested one), loaded on first use; the workers\' bundle has none', async () => {
  const t = standIns('4.22.0');
  cleanup = t.cleanup;
  const { main, worker } = await buildCli(t.dir);
  expect(main.core).toBe("the package root's tfjs-core");
  expect(main.bundled).toEqual({ version: '4.22.0', registeredInto: "the package root's tfjs-core" });
  expect(main.loadedAtStart).toBe(false);
  expect(worker.bundled).toBe(false);
});

it('a backend of another version than tfjs-core stays out: the bundled CLI reports webgpu as the npm package does', async () => {
  const t = standIns('4.21.0');
  cleanup = t.cleanup;
  const { main } = await buildCli(t.dir);
  expect(main.bundled).toBeUndefined();
  expect(fs.readFileSync(t.file('dist/cli/main.js'), 'utf8')).not.toContain('exports.registeredInto');
});
