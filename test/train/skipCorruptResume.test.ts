import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import '../../src/builtins';
import { register } from '../../src/core/registry';
import { train } from '../../src/train/train';
import { tempFiles } from '../helpers/tmp';
import type { Hook, RunnerApi } from '../../src/train/hook';

register('hook', {
  type: 'TestStopAtSkip',
  description: 'test: stop after an iteration',
  params: z.strictObject({ iter: z.number().int() }),
  build: (p): Hook => ({
    name: 'TestStopAtSkip',
    priority: 0,
    afterIter(r: RunnerApi) {
      if (r.iter === p.iter) r.requestStop('test');
    },
  }),
});

const root = path.resolve(__dirname, '../..');
const t = tempFiles({});
afterAll(() => t.cleanup());

// The committed sample's 12 images, of which bag-2 and bag-3 (indices 2 and 3 in name order) are
// damaged: with batches of 2 in order, the epoch's second batch is left out whole.
fs.cpSync(path.join(root, 'data/images-sample'), t.file('imgs'), { recursive: true });
fs.writeFileSync(t.file('imgs/bag/bag-2.jpg'), 'not a jpeg');
fs.writeFileSync(t.file('imgs/bag/bag-3.png'), fs.readFileSync(path.join(root, 'data/images-sample/bag/bag-3.png')).subarray(0, 60));
fs.writeFileSync(
  t.file('skip.yaml'),
  `
engine: { backend: wasm }
seed: 3
model:
  type: Classification
  backbone: { type: ResNet, depth: 18, stem: cifar, base_width: 4 }
  head: { type: ClsHead, num_classes: 3 }
data:
  workers: 0
  skip_corrupt: true
  train:
    type: ClsDataset
    batch_size: 2
    shuffle: false
    source: { type: ImageFolder, root: ${t.file('imgs')} }
    pipeline: [{ type: Resize, size: [16, 16] }, { type: ToTensor }]
optimizer: { type: SGD, lr: 0.05, momentum: 0.9 }
runner: { max_epochs: 2, log_interval: 1 }
`,
);

const trainLines = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((m) => m.split === 'train' && m.loss !== undefined)
    .map((m) => [m.epoch, m.iter, m.loss]);

describe('a batch left out whole by data.skip_corrupt', () => {
  const full = t.file('full');
  const stopped = t.file('stopped');

  it('still counts in the epoch: max_epochs epochs are trained, not part of one more', async () => {
    const result = await train(t.file('skip.yaml'), { workDir: full, quiet: true });
    expect(result.status).toBe('finished');
    // 6 batches per epoch, the second one all damaged: 5 steps in each of the 2 epochs.
    expect(result.iter).toBe(10);
    expect(new Set(trainLines(full).map((l) => l[0]))).toEqual(new Set([1, 2]));
  });

  it('a run stopped after it and resumed sees the samples of an uninterrupted run (none twice)', async () => {
    const first = await train(t.file('skip.yaml'), { workDir: stopped, quiet: true, overrides: [{ key: 'hooks', value: '[{type: TestStopAtSkip, iter: 3}]', arg: '--hooks' }] });
    expect(first.status).toBe('stopped');
    const resumed = await train(undefined, { resume: stopped, quiet: true, overrides: [{ key: 'hooks', value: '[]', arg: '--hooks' }] });
    expect(resumed.status).toBe('finished');
    // Three steps (batches 0, 2 and 3) done: the resume continues at batch 4 of the epoch.
    expect(fs.readFileSync(path.join(stopped, 'log.txt'), 'utf8')).toContain('(batch 4 of the epoch)');
    expect(trainLines(stopped)).toEqual(trainLines(full));
  });
});
