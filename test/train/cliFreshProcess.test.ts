import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';

// Every command that reads a run's checkpoint, each in a fresh `cvw` process: in-process tests
// share an engine that an earlier test started, which hid a checkpoint loaded before the engine.
const root = path.resolve(__dirname, '../..');
const cvw = path.join(root, 'bin', 'cvw.js');
const images = path.join(root, 'data', 'images-sample');
const config = tinyClassificationYaml({ seed: 3, backend: 'auto', runner: 'max_iters: 2', val: true });
const t = tempFiles({ 'tiny.yaml': config });
afterAll(() => t.cleanup());
const run = path.join(t.dir, 'run');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [cvw, ...args], { cwd: t.dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const r = cli('train', 'tiny.yaml', '--work-dir', run, '-q');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
}, 120_000);

describe('commands on a run, each in a fresh process', () => {
  it.each([
    ['eval', [run, '--json'], /"val\/accuracy_top1"/],
    ['benchmark knn', [run, '--k', '3', '--json'], /"knn_top1"/],
    ['benchmark linear', [run, '--epochs', '2', '--json'], /"linear_top1"/],
    ['extract', [run, '--split', 'val', '--json'], /val\.npy/],
    ['export', [run, '--out', path.join(t.dir, 'm.onnx')], /m\.onnx/],
    ['predict', [run, path.join(images, 'bag'), '--json'], /"label"/],
  ])('cvw %s', (command, args, expected) => {
    const r = cli(...command.split(' '), ...(args as string[]));
    expect(r.err).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(expected as RegExp);
  }, 120_000);
});
