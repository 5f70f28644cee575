/**
 * Queues, centres and momentum targets live in the model's state (buffers and frozen
 * parameters), and every schedule is a function of the iteration: a run stopped mid-way and
 * resumed must continue with exactly the losses and end with exactly the state of an
 * uninterrupted run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import '../../src/builtins';
import { register } from '../../src/core/registry';
import { train } from '../../src/train/train';
import { loadCheckpoint, withPrefix } from '../../src/train/checkpoint';
import { tempFiles } from '../helpers/tmp';
import type { Hook, RunnerApi } from '../../src/train/hook';

register('hook', {
  type: 'SelfsupTestStopAt',
  description: 'test: stop after an iteration',
  params: z.strictObject({ iter: z.number().int() }),
  build: (p): Hook => ({
    name: 'SelfsupTestStopAt',
    priority: 0,
    afterIter(r: RunnerApi) {
      if (r.iter === p.iter) r.requestStop('test');
    },
  }),
});

const root = path.resolve(__dirname, '../..');
const views = (n: number, size: number) => `{ num: ${n}, pipeline: [{ type: RandomResizedCrop, size: ${size}, scale: [0.3, 1] }, { type: RandomHorizontalFlip }, { type: ToTensor }] }`;
const common = (model: string, viewList: string, optimizer: string, hooks = '[]') => `
engine: { backend: wasm }
seed: 5
model: ${model}
data:
  workers: 0
  train:
    type: MultiViewDataset
    batch_size: 4
    source: { type: ImageFolder, root: ${root}/data/images-sample }
    views: [${viewList}]
optimizer: ${optimizer}
lr_schedule: { type: CosineLR, warmup_iters: 2 }
hooks: ${hooks}
runner: { max_epochs: 3, log_interval: 1 }
`;
const t = tempFiles({
  'moco.yaml': common(
    '{ type: MoCoV2, backbone: { type: ResNet, depth: 18, stem: cifar, base_width: 4 }, neck: { type: NonLinearNeckV1, hid_channels: 8, out_channels: 4 }, queue_len: 10, momentum: { base: 0.9, schedule: cosine } }',
    views(2, 16),
    '{ type: SGD, lr: 0.05, momentum: 0.9 }',
  ),
  'dino.yaml': common(
    '{ type: DINO, backbone: { type: VisionTransformer, arch: custom, embed_dim: 16, depth: 1, num_heads: 2, img_size: 16, patch_size: 4, drop_path_rate: 0.1 }, head: { type: DINOHead, hid_channels: 16, bottleneck_channels: 8, out_channels: 16 }, warmup_teacher_temp_epochs: 2, freeze_last_layer_epochs: 1 }',
    `${views(2, 16)}, ${views(2, 8)}`,
    '{ type: AdamW, lr: 1.0e-3, weight_decay: 0.04 }',
    '[{ type: WeightDecayScheduleHook, end: 0.4 }]',
  ),
});
afterAll(() => t.cleanup());

const lossesOf = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((m) => m.split === 'train')
    .map((m) => [m.iter, m.loss, m.lr, m.momentum, m.weight_decay]);

function finalState(dir: string): Map<string, Float32Array | Int32Array> {
  const ckpt = loadCheckpoint(path.join(dir, 'checkpoints', 'latest.safetensors'));
  return new Map([...withPrefix(ckpt.tensors, 'model.')].map(([k, v]) => [k, v.dataSync() as Float32Array]));
}

describe('resuming a self-supervised run', () => {
  for (const name of ['moco', 'dino']) {
    it(`${name}: continues with the uninterrupted run's losses and ends in its state (queues, centre, targets)`, async () => {
      const full = path.join(t.dir, `${name}-full`);
      const stopped = path.join(t.dir, `${name}-stopped`);
      await train(t.file(`${name}.yaml`), { workDir: full, quiet: true });
      const first = await train(t.file(`${name}.yaml`), { workDir: stopped, quiet: true, overrides: [{ key: 'hooks', value: `[{type: SelfsupTestStopAt, iter: 4}${name === 'dino' ? ', {type: WeightDecayScheduleHook, end: 0.4}' : ''}]`, arg: '--hooks' }] });
      expect(first.status).toBe('stopped');
      const resumed = await train(undefined, { resume: stopped, quiet: true, overrides: [{ key: 'hooks', value: name === 'dino' ? '[{type: WeightDecayScheduleHook, end: 0.4}]' : '[]', arg: '--hooks' }] });
      expect(resumed.status).toBe('finished');
      expect(lossesOf(stopped)).toEqual(lossesOf(full));
      const a = finalState(full);
      const b = finalState(stopped);
      const buffers = [...a.keys()].filter((k) => /queue|center|ptr|key_|teacher_/.test(k));
      expect(buffers.length).toBeGreaterThan(2);
      for (const [k, v] of a) expect(Array.from(b.get(k)!), k).toEqual(Array.from(v));
    }, 240_000);
  }
});
