// The Node API as a program uses it: `import { train, evaluate } from 'cv-workbench'` in a fresh
// node process, the package resolved by name (its `exports`), overrides given as an object.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '../../src/api';
import { tinyClassificationYaml } from '../helpers/tinyConfig';
import { tempFiles } from '../helpers/tmp';

const root = path.resolve(__dirname, '../..');

const script = `
import { train, evaluate } from 'cv-workbench';
const result = await train('tiny.yaml', { workDir: 'run', quiet: true, overrides: { 'runner.max_iters': 2, 'optimizer.lr': 0.05, 'model.head.dropout': 0.25 } });
const evaluated = await evaluate('run');
console.log(JSON.stringify({ result, evaluated: evaluated.metrics }));
`;

describe('Node API', () => {
  const t = tempFiles({ 'tiny.yaml': tinyClassificationYaml({ seed: 2, runner: 'max_epochs: 5, log_interval: 1', val: true }), 'main.mjs': script });
  afterAll(() => t.cleanup());

  it('trains and evaluates from a program, overrides given as an object', () => {
    fs.mkdirSync(path.join(t.dir, 'node_modules'));
    fs.symlinkSync(root, path.join(t.dir, 'node_modules', 'cv-workbench'), 'dir');
    const out = execFileSync(process.execPath, ['main.mjs'], { cwd: t.dir, encoding: 'utf8', timeout: 120_000 });
    const { result, evaluated } = JSON.parse(out.trim().split('\n').pop()!);
    expect(result).toMatchObject({ runDir: path.join(t.dir, 'run'), status: 'finished', iter: 2 });
    const config = fs.readFileSync(path.join(t.dir, 'run', 'config.yaml'), 'utf8');
    expect(config).toMatch(/^ {2}lr: 0\.05$/m);
    expect(config).toMatch(/^ {4}dropout: 0\.25$/m);
    expect(evaluated['val/accuracy_top1']).toBeGreaterThanOrEqual(0);
    expect(evaluated['val/accuracy_top1']).toBeLessThanOrEqual(1);
  });

  it('says which override is wrong, as the command line does', async () => {
    await expect(train(t.file('tiny.yaml'), { workDir: path.join(t.dir, 'bad'), quiet: true, overrides: { 'optimizer.lr': 'fast' } })).rejects.toThrow(/overrides\["optimizer\.lr"\].*number/s);
    expect(fs.existsSync(path.join(t.dir, 'bad'))).toBe(false);
  });
});
