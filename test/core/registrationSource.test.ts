// `cvw show` names the file that registers a component: from src/ (here, as vitest and sucrase run
// it) and from the esbuild bundle the extension runs (dist/cli/main.js, mapped back through its map).
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { allComponents } from '../../src/core/registry';
import { registrationSource } from '../../src/core/registrationSource';
import { cvw } from '../helpers/cvw';

const root = path.resolve(__dirname, '../..');
// Inside the package (tmp/ is git-ignored), so that the bundle finds the package root as installed.
const outDir = path.join(root, 'tmp', `registration-source-${process.pid}`);
afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

/** The text of line `line` (1-based) of a package file. */
function lineOf(file: string, line: number): string {
  return fs.readFileSync(path.join(root, file), 'utf8').split('\n')[line - 1];
}

describe('registration source', () => {
  it('names, for every built-in component, the src/ file and the line of its register(...) call', () => {
    const builtins = allComponents().filter((c) => c.builtin);
    expect(builtins.length).toBeGreaterThan(50);
    for (const c of builtins) {
      const src = registrationSource(c);
      expect(src?.file, c.type).toMatch(/^src\/.+\.ts$/);
      expect(src!.file, c.type).not.toBe('src/core/registry.ts');
      // The call itself: `register('backbone', {` (or a helper that registers, named on that line).
      expect(lineOf(src!.file, src!.line!), `${c.type} at ${src!.file}:${src!.line}`).toMatch(/register\w*\(/);
    }
  });

  it('cvw show prints it, and --json carries it', async () => {
    const r = await cvw('show', 'ResNet');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Registered in src\/models\/backbones\/resnet\.ts:\d+$/m);
    const json = JSON.parse((await cvw('show', 'NTXentLoss', '--json')).out);
    expect(json.source).toMatchObject({ file: 'src/models/losses/ntXent.ts', line: expect.any(Number) });
  });

  it('maps a place in the esbuild bundle of the CLI back to the TypeScript file', async () => {
    const esbuild = await import('esbuild');
    const { bundleOptions } = await import(path.join(root, 'scripts', 'bundles.mjs'));
    const cli = (bundleOptions(root, outDir) as { outdir?: string }[]).find((b) => b.outdir === path.join(outDir, 'cli'));
    await esbuild.build({ ...cli, logLevel: 'error' });
    const r = spawnSync(process.execPath, [path.join(outDir, 'cli', 'cvw.js'), 'show', 'ResNet', '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const inProcess = registrationSource(allComponents().find((c) => c.type === 'ResNet')!);
    expect(JSON.parse(r.stdout).source).toEqual(inProcess);
  });
});
