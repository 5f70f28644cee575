import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import '../../src/api';
import { checkConfig } from '../../src/core/check';
import { listTemplates, templateFile, commentedYaml } from '../../src/templates';
import { train } from '../../src/train/train';
import { tempFiles } from '../helpers/tmp';

const root = path.resolve(__dirname, '../..');
const images = path.join(root, 'data', 'images-sample');
const t = tempFiles({});
afterAll(() => t.cleanup());

/** Overrides that point a template at the 12 committed sample images and make it tiny. */
function smokeOverrides(config: Record<string, any>) {
  const o = (key: string, value: string) => ({ key, value, arg: `--${key} ${value}` });
  const out = [o('data.workers', '0'), o('runner.max_iters', '2'), o('data.train.batch_size', '4')];
  for (const split of ['train', 'val', 'test']) {
    const src = config.data?.[split]?.source;
    if (src?.type === 'ImageFolder') out.push(o(`data.${split}.source.root`, images));
  }
  return out;
}

describe('templates', () => {
  it('there is one per trained model type, at least Classification', () => {
    expect(listTemplates()).toContain('Classification');
  });

  for (const name of listTemplates()) {
    it(`${name}: validates, writes a commented starter that validates too, and smoke-trains two iterations`, async () => {
      const file = templateFile(name);
      expect(checkConfig(file).problems).toEqual([]);
      const raw = parse(fs.readFileSync(file, 'utf8'));
      expect(raw.model.type).toBe(name);
      const starter = path.join(t.dir, `${name}.yaml`);
      fs.writeFileSync(starter, commentedYaml(raw, ['test']));
      expect(fs.readFileSync(starter, 'utf8')).toMatch(/# Seed of every random choice/);
      expect(checkConfig(starter).problems).toEqual([]);
      const result = await train(file, { workDir: path.join(t.dir, `run-${name}`), quiet: true, overrides: smokeOverrides(raw) });
      expect(result.status).toBe('finished');
      expect(result.iter).toBe(2);
      const resolved = parse(fs.readFileSync(path.join(result.runDir, 'config.yaml'), 'utf8'));
      expect(resolved.model.type).toBe(name);
    }, 300_000); // ViT / Swin templates at 96 px: two iterations are mostly kernel warm-up on the wasm engine
  }
});
