import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import '../../src/builtins';
import { register } from '../../src/core/registry';
import { train } from '../../src/train/train';
import { evaluate } from '../../src/eval/evaluate';
import { tempFiles } from '../helpers/tmp';
import type { Hook, RunnerApi } from '../../src/train/hook';
import { readRunEvaluation } from '../../src/report/evalFiles';

// A hook that asks the runner to stop after a given iteration, as SIGINT does.
register('hook', {
  type: 'TestStopAt',
  description: 'test: stop after an iteration',
  params: z.strictObject({ iter: z.number().int() }),
  build: (p): Hook => ({
    name: 'TestStopAt',
    priority: 0,
    afterIter(r: RunnerApi) {
      if (r.iter === p.iter) r.requestStop('test');
    },
  }),
});

// A hook that fails an iteration, as a crash or a kill would end the process.
register('hook', {
  type: 'TestCrashAt',
  description: 'test: fail before an iteration',
  params: z.strictObject({ iter: z.number().int() }),
  build: (p): Hook => ({
    name: 'TestCrashAt',
    priority: 0,
    beforeIter(r: RunnerApi) {
      if (r.iter === p.iter) throw new Error('test crash');
    },
  }),
});

const root = path.resolve(__dirname, '../..');
const config = `
engine: { backend: wasm }
seed: 3
model:
  type: Classification
  backbone: { type: ResNet, depth: 18, stem: cifar, base_width: 4 }
  head: { type: ClsHead, num_classes: 3, dropout: 0.2 }
data:
  workers: 0
  train:
    type: ClsDataset
    batch_size: 4
    source: { type: ImageFolder, root: ${root}/data/images-sample }
    pipeline: [{ type: RandomResizedCrop, size: 16, scale: [0.5, 1] }, { type: RandomHorizontalFlip }, { type: ToTensor }]
  val:
    type: ClsDataset
    batch_size: 6
    source: { type: ImageFolder, root: ${root}/data/images-sample }
    pipeline: [{ type: Resize, size: 16 }, { type: ToTensor }]
eval_pipelines: [{ split: val, evaluators: [{ type: ClsEvaluator, topk: [1] }] }]
optimizer: { type: SGD, lr: 0.05, momentum: 0.9, weight_decay: 1.0e-4 }
lr_schedule: { type: CosineLR, warmup_iters: 2 }
runner: { max_epochs: 4, log_interval: 1 }
checkpoint: { save_best: val/accuracy_top1 }
`;
const t = tempFiles({ 'tiny.yaml': config });
afterAll(() => t.cleanup());

function metrics(dir: string): Array<Record<string, number | string>> {
  return fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

const trainLosses = (dir: string) => metrics(dir).filter((m) => m.split === 'train' && m.loss !== undefined).map((m) => [m.iter, m.loss, m.lr]);

describe('the runner', () => {
  const full = path.join(t.dir, 'full');
  const stopped = path.join(t.dir, 'stopped');

  it('trains, evaluates every epoch, keeps latest/best/epoch_N checkpoints and writes the run files', async () => {
    const result = await train(t.file('tiny.yaml'), { workDir: full, quiet: true });
    expect(result.status).toBe('finished');
    expect(result.iter).toBe(12);
    const run = JSON.parse(fs.readFileSync(path.join(full, 'run.json'), 'utf8'));
    expect(run).toMatchObject({ status: 'finished', iter: 12, max_iters: 12, max_epochs: 4, config_stem: 'tiny' });
    expect(run.best.metric).toBe('val/accuracy_top1');
    expect(fs.readdirSync(path.join(full, 'checkpoints')).sort()).toEqual(['best.safetensors', 'epoch_2.safetensors', 'epoch_3.safetensors', 'epoch_4.safetensors', 'latest.safetensors']);
    expect(metrics(full).filter((m) => m.split === 'val')).toHaveLength(4);
    expect(fs.readFileSync(path.join(full, 'config.yaml'), 'utf8')).toContain('base_width: 4');
    expect(fs.readdirSync(full).some((f) => f.startsWith('events.out.tfevents.'))).toBe(true);
    expect(fs.existsSync(path.join(full, 'eval', 'val_confusion_matrix.json'))).toBe(true);
    // Each image's prediction (for comparing runs image by image) counts up to the confusion matrix.
    const evaluated = readRunEvaluation(full);
    const [preds] = evaluated.predictions;
    expect(preds.index).toEqual([...Array(12).keys()]);
    const counted = preds.classes.map((_, t) => preds.classes.map((__, c) => preds.label.filter((l, i) => l === t && preds.predicted[i] === c).length));
    expect(counted).toEqual(evaluated.confusion[0].matrix);
    const losses = trainLosses(full).map((x) => x[1] as number);
    expect(losses.every(Number.isFinite)).toBe(true);
    // Each training line has the process's resident memory (this test process's): Node and tfjs alone take more than 50 MB.
    const memory = metrics(full).filter((m) => m.split === 'train').map((m) => m.memory_gb as number);
    expect(memory).toHaveLength(12);
    for (const gb of memory) expect(gb).toBeGreaterThan(0.05);
    expect(Math.max(...memory)).toBeLessThan(os.totalmem() / 1e9);
    expect(fs.readFileSync(path.join(full, 'log.txt'), 'utf8')).toMatch(/ samples\/s mem [\d.]+ GB ETA /);
  });

  it('stops cleanly mid-epoch and, resumed, continues with exactly the losses of the uninterrupted run', async () => {
    const first = await train(t.file('tiny.yaml'), { workDir: stopped, quiet: true, overrides: [{ key: 'hooks', value: '[{type: TestStopAt, iter: 5}]', arg: '--hooks' }] });
    expect(first.status).toBe('stopped');
    expect(first.iter).toBe(5);
    expect(JSON.parse(fs.readFileSync(path.join(stopped, 'run.json'), 'utf8')).status).toBe('stopped');
    const resumed = await train(undefined, { resume: stopped, quiet: true, overrides: [{ key: 'hooks', value: '[]', arg: '--hooks' }] });
    expect(resumed.status).toBe('finished');
    expect(resumed.iter).toBe(12);
    expect(trainLosses(stopped)).toEqual(trainLosses(full));
    const valA = metrics(full).filter((m) => m.split === 'val').map((m) => m.accuracy_top1);
    const valB = metrics(stopped).filter((m) => m.split === 'val').map((m) => m.accuracy_top1);
    expect(valB).toEqual(valA);
  });

  it('resumed from the checkpoint written at the end of an epoch (a crash in the next one), goes on at the next epoch: no second evaluation of the last one', async () => {
    const crashed = path.join(t.dir, 'crashed');
    // 3 iterations an epoch: iteration 7 is the first of epoch 3; latest is epoch 2's end.
    await expect(train(t.file('tiny.yaml'), { workDir: crashed, quiet: true, overrides: [{ key: 'hooks', value: '[{type: TestCrashAt, iter: 6}]', arg: '--hooks' }] })).rejects.toThrow('test crash');
    const resumed = await train(undefined, { resume: crashed, quiet: true, overrides: [{ key: 'hooks', value: '[]', arg: '--hooks' }] });
    expect(resumed.status).toBe('finished');
    expect(trainLosses(crashed)).toEqual(trainLosses(full));
    const val = (dir: string) => metrics(dir).filter((m) => m.split === 'val').map((m) => [m.epoch, m.iter, m.accuracy_top1]);
    // It evaluated epoch 2 a second time, after the resume.
    expect(val(crashed)).toEqual(val(full));
    expect(fs.readdirSync(path.join(crashed, 'checkpoints')).sort()).toEqual(fs.readdirSync(path.join(full, 'checkpoints')).sort());
  });

  it('cvw eval of the run reproduces the metrics of its best checkpoint', async () => {
    const run = JSON.parse(fs.readFileSync(path.join(full, 'run.json'), 'utf8'));
    const result = await evaluate(full);
    expect(result.checkpoint).toBe(path.join(full, 'checkpoints', 'best.safetensors'));
    expect(result.metrics['val/accuracy_top1']).toBeCloseTo(run.best.value, 6);
  });

  it('stops on a NaN loss with the iteration and the likely cause, and says whether a checkpoint is kept', async () => {
    const dir = path.join(t.dir, 'nan');
    await expect(train(t.file('tiny.yaml'), { workDir: dir, quiet: true, overrides: [{ key: 'optimizer.lr', value: '1e30', arg: '--optimizer.lr 1e30' }] })).rejects.toThrow(
      /the loss became (NaN|Infinity|-Infinity) at iteration \d+ \(epoch \d\).*learning rate/,
    );
    const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(run.status).toBe('failed');
    expect(run.error.message).toMatch(/learning rate/);
    // In its first epoch (no checkpoint yet), it says there is none, where it said one was kept.
    expect(fs.existsSync(path.join(dir, 'checkpoints', 'latest.safetensors'))).toBe(false);
    expect(run.error.message).toMatch(/training stopped before its first checkpoint, so there is none to resume from\./);
  });

  it('a resume refused before its first step leaves the run as it was (finished stays finished)', async () => {
    const before = fs.readFileSync(path.join(full, 'run.json'), 'utf8');
    await expect(train(undefined, { resume: full, quiet: true, overrides: { 'model.head.num_classes': 5, 'runner.max_epochs': 9 } })).rejects.toThrow(/does not fit|num_classes/);
    const after = JSON.parse(fs.readFileSync(path.join(full, 'run.json'), 'utf8'));
    const was = JSON.parse(before);
    expect(after.status).toBe('finished');
    expect({ ...after, pid: was.pid, hostname: was.hostname, paused_s: was.paused_s }).toEqual(was);
    expect(fs.readFileSync(path.join(full, 'log.txt'), 'utf8')).toMatch(/resume refused, the run is left finished: /);
  });

  it('refuses a config that does not fit the data before training', async () => {
    await expect(
      train(t.file('tiny.yaml'), { workDir: path.join(t.dir, 'misfit'), quiet: true, overrides: [{ key: 'model.head.num_classes', value: '10', arg: '--model.head.num_classes 10' }] }),
    ).rejects.toThrow('model.head.num_classes is 10 but the training data has 3 classes: set model.head.num_classes: 3');
    await expect(
      train(t.file('tiny.yaml'), { workDir: path.join(t.dir, 'misfit2'), quiet: true, overrides: [{ key: 'model.backbone.in_channels', value: '1', arg: '--model.backbone.in_channels 1' }] }),
    ).rejects.toThrow('model.backbone expects 1-channel images but the data has 3 channel(s)');
  });

  it("an eval pipeline's split names a dataset of the data section, not a member of Object.prototype", async () => {
    for (const split of ['constructor', '__proto__']) {
      const arg = `--eval_pipelines.0.split ${split}`;
      await expect(train(t.file('tiny.yaml'), { workDir: path.join(t.dir, `split-${split}`), quiet: true, overrides: [{ key: 'eval_pipelines.0.split', value: split, arg }] })).rejects.toThrow(
        `eval_pipelines.0: no dataset — data.${split} is not set; give the pipeline a split that exists in data, or its own data`,
      );
    }
  });
});
