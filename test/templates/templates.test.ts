import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import '../../src/api';
import { checkConfig } from '../../src/core/check';
import { listTemplates, templateFile, commentedYaml } from '../../src/templates';
import { train } from '../../src/train/train';
import { tempFiles } from '../helpers/tmp';
import { writeForeignWeights } from '../helpers/foreignWeights';
import { registries } from '../../src/core/registry';

const root = path.resolve(__dirname, '../..');
const images = path.join(root, 'data', 'images-sample');
const t = tempFiles({});
afterAll(() => t.cleanup());

/**
 * Overrides that point a template at the 12 committed sample images and make it tiny; a template
 * that starts from pretrained weights gets a torchvision-named file made here for its backbone
 * (3 classes: the sample's).
 */
function smokeOverrides(name: string, config: Record<string, any>) {
  const o = (key: string, value: string) => ({ key, value, arg: `--${key} ${value}` });
  const out = [o('data.workers', '0'), o('runner.max_iters', '2'), o('data.train.batch_size', '4')];
  for (const split of ['train', 'val', 'test']) {
    const src = config.data?.[split]?.source;
    if (src?.type === 'ImageFolder') out.push(o(`data.${split}.source.root`, images));
  }
  if (config.model.pretrained) {
    const file = t.file(`${name}-pretrained.safetensors`);
    writeForeignWeights(file, { ...config.model, pretrained: undefined, head: { ...config.model.head, num_classes: 3 } });
    out.push(o('model.pretrained', file));
  }
  return out;
}

describe('templates', () => {
  it('there is one per trained model type, at least Classification, and FineTune (Classification from pretrained weights)', () => {
    expect(listTemplates()).toContain('Classification');
    expect(listTemplates()).toContain('FineTune');
  });

  for (const name of listTemplates()) {
    it(`${name}: validates, writes a commented starter that validates too, and smoke-trains two iterations`, async () => {
      const file = templateFile(name);
      expect(checkConfig(file).problems).toEqual([]);
      const raw = parse(fs.readFileSync(file, 'utf8'));
      // Named for its model type, or a recipe on top of a registered one (FineTune: Classification).
      const modelType = registries.model.get(name) ? name : raw.model.type;
      expect(registries.model.get(modelType)).toBeDefined();
      expect(raw.model.type).toBe(modelType);
      const starter = path.join(t.dir, `${name}.yaml`);
      fs.writeFileSync(starter, commentedYaml(raw, ['test']));
      expect(fs.readFileSync(starter, 'utf8')).toMatch(/# Seed of every random choice/);
      expect(checkConfig(starter).problems).toEqual([]);
      const result = await train(file, { workDir: path.join(t.dir, `run-${name}`), quiet: true, overrides: smokeOverrides(name, raw) });
      expect(result.status).toBe('finished');
      expect(result.iter).toBe(2);
      const resolved = parse(fs.readFileSync(path.join(result.runDir, 'config.yaml'), 'utf8'));
      expect(resolved.model.type).toBe(modelType);
      if (raw.model.pretrained) {
        // Every backbone tensor came from the file; only the classifier is new.
        expect(fs.readFileSync(path.join(result.runDir, 'log.txt'), 'utf8')).toMatch(/model\.pretrained: loaded \d+ tensors from .*-pretrained\.safetensors; missing \(kept as initialised\): none; unexpected \(not loaded\): fc\.bias, fc\.weight/);
      }
    }, 300_000); // ViT / Swin templates at 96 px: two iterations are mostly kernel warm-up on the wasm engine
  }
});
