/**
 * Losses as registered components (issue 19, point 2): FocalLoss against its formula, every
 * registered loss built from its schema's defaults, `loss:` slots in heads and algorithms with the
 * old keys as shorthands, and a config that swaps CrossEntropyLoss for FocalLoss and trains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import '../../src/builtins';
import { build, registries } from '../../src/core/registry';
import { checkConfig, resolveConfig } from '../../src/core/check';
import { Random } from '../../src/core/random';
import { seedInit } from '../../src/models/nn';
import { lossesFor, type LossInput, type Losses } from '../../src/models/losses/lossSlot';
import { crossEntropy } from '../../src/models/losses/crossEntropy';
import type { ClsHead } from '../../src/models/heads/clsHead';
import type { Algorithm } from '../../src/models/algorithms/types';
import { train } from '../../src/train/train';
import { tinyClassificationYaml } from '../helpers/tinyConfig';
import { tempFiles } from '../helpers/tmp';

beforeAll(async () => {
  await useCpu();
});

const t = tempFiles({ 'tiny.yaml': tinyClassificationYaml({ seed: 4, runner: 'max_iters: 3, log_interval: 1' }) });
afterAll(() => t.cleanup());

const rng = new Random(11);
const matrix = (r: number, c: number) => Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal(0, 2)));
const value = (x: tf.Tensor) => x.dataSync()[0];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** mmpretrain's sigmoid_focal_loss, written out: mean over every (sample, class) element. */
function sigmoidFocal(logits: number[][], labels: number[], gamma: number, alpha: number): number {
  let sum = 0;
  logits.forEach((row, i) =>
    row.forEach((x, k) => {
      const target = k === labels[i] ? 1 : 0;
      const p = sigmoid(x);
      const pt = (1 - p) * target + p * (1 - target);
      const weight = (alpha * target + (1 - alpha) * (1 - target)) * pt ** gamma;
      const bce = -(target * Math.log(p) + (1 - target) * Math.log(1 - p));
      sum += bce * weight;
    }),
  );
  return sum / (logits.length * logits[0].length);
}

/** Lin et al. Eq. 5 over the softmax probability of the true class, mean over the batch. */
function softmaxFocal(logits: number[][], labels: number[], gamma: number): number {
  return (
    logits.reduce((s, row, i) => {
      const m = Math.max(...row);
      const z = row.reduce((a, x) => a + Math.exp(x - m), 0);
      const p = Math.exp(row[labels[i]] - m) / z;
      return s - (1 - p) ** gamma * Math.log(p);
    }, 0) / logits.length
  );
}

describe('FocalLoss', () => {
  const logits = matrix(6, 4);
  const labels = [0, 3, 1, 1, 2, 0];
  const run = (cfg: Record<string, unknown>) => value(build<Losses['classification']>('loss', { type: 'FocalLoss', ...cfg })(tf.tensor2d(logits), tf.tensor1d(labels, 'int32')));

  it('sigmoid form equals mmpretrain\'s sigmoid_focal_loss (defaults gamma 2, alpha 0.25) and scales by loss_weight', () => {
    expect(run({})).toBeCloseTo(sigmoidFocal(logits, labels, 2, 0.25), 6);
    expect(run({ gamma: 1.5, alpha: 0.6 })).toBeCloseTo(sigmoidFocal(logits, labels, 1.5, 0.6), 6);
    expect(run({ loss_weight: 3 })).toBeCloseTo(3 * sigmoidFocal(logits, labels, 2, 0.25), 5);
    // gamma 0, alpha 0.5: half the binary cross-entropy.
    expect(run({ gamma: 0, alpha: 0.5 })).toBeCloseTo(0.5 * sigmoidFocal(logits, labels, 0, 1e-12) + 0.5 * sigmoidFocal(logits, labels, 0, 1 - 1e-12), 5);
  });

  it('softmax form is -(1 - p_y)^gamma log p_y, and cross-entropy at gamma 0', () => {
    expect(run({ use_sigmoid: false })).toBeCloseTo(softmaxFocal(logits, labels, 2), 6);
    expect(run({ use_sigmoid: false, gamma: 0 })).toBeCloseTo(value(crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'))), 6);
    // Focusing: an easy example's loss shrinks far more than a hard one's.
    const easy = [[6, 0, 0, 0]];
    const hard = [[0, 0, 0, 6]];
    expect(softmaxFocal(easy, [0], 2) / softmaxFocal(easy, [0], 0)).toBeLessThan(1e-4);
    expect(softmaxFocal(hard, [0], 2) / softmaxFocal(hard, [0], 0)).toBeGreaterThan(0.9);
  });

  it('has a gradient that agrees with finite differences', () => {
    const f = build<Losses['classification']>('loss', { type: 'FocalLoss' });
    const x = tf.tensor2d(logits);
    const y = tf.tensor1d(labels, 'int32');
    const g = tf.grad((l: tf.Tensor) => f(l as tf.Tensor2D, y))(x).arraySync() as number[][];
    const h = 1e-3;
    for (const [i, k] of [[0, 0], [1, 3], [4, 1]]) {
      const plus = logits.map((r) => [...r]);
      const minus = logits.map((r) => [...r]);
      plus[i][k] += h;
      minus[i][k] -= h;
      const numeric = (sigmoidFocal(plus, labels, 2, 0.25) - sigmoidFocal(minus, labels, 2, 0.25)) / (2 * h);
      expect(g[i][k]).toBeCloseTo(numeric, 4);
    }
  });
});

/** Inputs of each kind, small and random, and what the loss is called with. */
const callers: Record<LossInput, (loss: never) => tf.Tensor> = {
  classification: (f: Losses['classification']) => f(tf.tensor2d(matrix(4, 3)), tf.tensor1d([0, 2, 1, 1], 'int32')),
  pixels: (f: Losses['pixels']) => f(tf.randomNormal([1, 2, 2, 3]) as tf.Tensor4D, tf.tensor3d([[[0, 1], [2, 255]]], undefined, 'int32')),
  views: (f: Losses['views']) => f(tf.tensor2d(matrix(4, 5)), tf.tensor2d(matrix(4, 5))),
  prediction: (f: Losses['prediction']) => f(tf.tensor2d(matrix(4, 5)), tf.tensor2d(matrix(4, 5))),
  queue: (f: Losses['queue']) => f(tf.tensor2d(matrix(4, 5)), tf.tensor2d(matrix(4, 5)), tf.tensor2d(matrix(7, 5))),
  // Scores are cosine similarities, in [-1, 1].
  prototypes: (f: Losses['prototypes']) => f([0, 1, 2].map(() => tf.tanh(tf.tensor2d(matrix(4, 6))) as tf.Tensor2D), { cropsForAssign: [0, 1] }),
  distillation: (f: Losses['distillation']) => f.forward([tf.tensor2d(matrix(4, 8)), tf.tensor2d(matrix(4, 8))], [tf.tensor2d(matrix(4, 8)), tf.tensor2d(matrix(4, 8))], 0).loss,
  patches: (f: Losses['patches']) => f(tf.randomNormal([2, 4, 3]) as tf.Tensor3D, tf.randomNormal([2, 4, 3]) as tf.Tensor3D, tf.tensor2d([[1, 0, 1, 0], [0, 0, 1, 1]])),
};

describe('registered losses', () => {
  it('every built-in loss declares its input, builds from its schema\'s defaults and gives a finite scalar', () => {
    const inputs = Object.keys(callers) as LossInput[];
    const covered = inputs.flatMap((input) => lossesFor(input));
    expect(covered.sort()).toEqual(registries.loss.entries().filter((e) => e.builtin).map((e) => e.type).sort());
    expect(covered).toEqual(expect.arrayContaining(['CrossEntropyLoss', 'FocalLoss', 'NTXentLoss', 'InfoNCELoss', 'NormalizedMSELoss', 'NegativeCosineLoss', 'SwAVLoss', 'DINOLoss', 'MaskedMSELoss']));
    for (const input of inputs) {
      for (const type of lossesFor(input)) {
        const loss = build<never>('loss', { type }, { out_dim: 8 });
        const out = callers[input](loss);
        expect(out.rank, type).toBe(0);
        expect(Number.isFinite(value(out)), type).toBe(true);
      }
    }
  });
});

describe('loss slots', () => {
  const head = (cfg: Record<string, unknown>) => {
    seedInit(1);
    return build<ClsHead>('head', { type: 'ClsHead', num_classes: 3, in_channels: 4, ...cfg });
  };
  const logits = tf.tensor2d(matrix(5, 3));
  const labels = tf.tensor1d([0, 1, 2, 2, 0], 'int32');

  it('ClsHead uses the loss of its slot; label_smoothing is a shorthand for the cross-entropy\'s, which the slot\'s own value may repeat but not contradict', () => {
    expect(value(head({}).loss(logits, labels))).toBeCloseTo(value(crossEntropy(logits, labels)), 6);
    const smoothed = value(crossEntropy(logits, labels, 0.1));
    expect(value(head({ label_smoothing: 0.1 }).loss(logits, labels))).toBeCloseTo(smoothed, 6);
    expect(value(head({ loss: { type: 'CrossEntropyLoss', label_smoothing: 0.1 } }).loss(logits, labels))).toBeCloseTo(smoothed, 6);
    expect(value(head({ label_smoothing: 0.1, loss: { type: 'CrossEntropyLoss', label_smoothing: 0.1 } }).loss(logits, labels))).toBeCloseTo(smoothed, 6);
    expect(() => head({ label_smoothing: 0.3, loss: { type: 'CrossEntropyLoss', label_smoothing: 0.1 } })).toThrow('ClsHead.label_smoothing: 0.3 is a shorthand for ClsHead.loss.label_smoothing, which says 0.1; keep one of the two');
    const focal = build<Losses['classification']>('loss', { type: 'FocalLoss', gamma: 1 });
    expect(value(head({ loss: { type: 'FocalLoss', gamma: 1 } }).loss(logits, labels))).toBeCloseTo(value(focal(logits, labels)), 6);
  });

  it('refuses a loss of another input and a shorthand the chosen loss lacks, saying what fits', () => {
    expect(() => head({ loss: { type: 'PixelCrossEntropyLoss' } })).toThrow(/ClsHead: loss PixelCrossEntropyLoss takes pixels input.*CrossEntropyLoss, FocalLoss/);
    expect(() => head({ label_smoothing: 0.1, loss: { type: 'FocalLoss' } })).toThrow(/label_smoothing is a shorthand for loss.label_smoothing, but loss FocalLoss has no label_smoothing/);
    expect(() => head({ loss: { type: 'FocalLoss', gamma: -1 } })).toThrow(/head.loss.gamma/);
  });

  it('SimCLR\'s temperature and DINO\'s temperatures set their losses; the loss slot can set them too', () => {
    const backbone = { type: 'ResNet', depth: 18, stem: 'cifar', in_channels: 1, base_width: 4 };
    const views = [tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 1), tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 2)] as tf.Tensor4D[];
    const step = (cfg: Record<string, unknown>) => {
      seedInit(2);
      const model = build<Algorithm>('model', { backbone, ...cfg });
      const loss = value(model.trainStep({ views, raw: [] } as never, { epoch: 0, iter: 0, itersPerEpoch: 1, maxIters: 1 } as never).loss);
      model.dispose();
      return loss;
    };
    const neck = { type: 'NonLinearNeckSimCLR', hid_channels: 8, out_channels: 4 };
    const short = step({ type: 'SimCLR', neck, temperature: 0.3 });
    expect(step({ type: 'SimCLR', neck, loss: { type: 'NTXentLoss', temperature: 0.3 } })).toBeCloseTo(short, 6);
    expect(step({ type: 'SimCLR', neck })).not.toBeCloseTo(short, 3);
    const head = { type: 'DINOHead', hid_channels: 8, bottleneck_channels: 4, out_channels: 8 };
    const dino = step({ type: 'DINO', head, student_temp: 0.2 });
    expect(step({ type: 'DINO', head, loss: { type: 'DINOLoss', student_temp: 0.2 } })).toBeCloseTo(dino, 6);
    expect(step({ type: 'DINO', head })).not.toBeCloseTo(dino, 3);
    expect(() => build('model', { type: 'DINO', backbone, head, loss: { type: 'DINOLoss', out_dim: 5 } })).toThrow(/DINO: loss.out_dim is 5 but the head gives 8 outputs/);
  });

  it('win over the loss\'s defaults in a resolved config, which is what cvw train builds and writes', () => {
    // The shorthand used to lose here: resolution filled loss.label_smoothing with its default 0,
    // and the built head trained without label smoothing.
    const file = t.file('smoothing.yaml');
    fs.writeFileSync(file, fs.readFileSync(t.file('tiny.yaml'), 'utf8').replace('head: { type: ClsHead }', 'head: { type: ClsHead, label_smoothing: 0.1 }'));
    const resolved = resolveConfig(file).config as { model: { head: Record<string, unknown> } };
    expect(resolved.model.head.loss).toEqual({ type: 'CrossEntropyLoss', label_smoothing: 0.1 });
    expect(value(head({ ...resolved.model.head, num_classes: 3, in_channels: 4 }).loss(logits, labels))).toBeCloseTo(value(crossEntropy(logits, labels, 0.1)), 6);
    // The shipped configs whose shorthands differ from their losses' defaults.
    const model = (config: string) => (resolveConfig(path.join(__dirname, '../../configs', config)).config as { model: Record<string, Record<string, unknown>> }).model;
    expect(model('selfsup/simclr/simclr_resnet18_fashion_mnist.yaml').loss).toMatchObject({ type: 'NTXentLoss', temperature: 0.2 });
    expect(model('selfsup/dino/dino_vit_fashion_mnist.yaml').loss).toMatchObject({ type: 'DINOLoss', teacher_temp: 0.05, warmup_teacher_temp_epochs: 1 });
  });

  it('a shorthand that contradicts its loss, or that the loss lacks, is a problem at the shorthand\'s line and column', () => {
    const file = t.file('smoothing-clash.yaml');
    const text = fs.readFileSync(t.file('tiny.yaml'), 'utf8').replace('head: { type: ClsHead }', 'head: { type: ClsHead, label_smoothing: 0.2, loss: { type: CrossEntropyLoss, label_smoothing: 0.1 } }');
    fs.writeFileSync(file, text);
    const [clash, ...rest] = checkConfig(file).problems;
    expect(rest).toEqual([]);
    expect(clash.message).toBe('model.head.label_smoothing: 0.2 is a shorthand for model.head.loss.label_smoothing, which says 0.1; keep one of the two');
    const line = text.split('\n').findIndex((l) => l.includes('label_smoothing: 0.2'));
    expect(clash.range.start).toEqual({ line, character: text.split('\n')[line].indexOf('0.2') });
    fs.writeFileSync(file, text.replace('label_smoothing: 0.1 }', 'gamma: 2 }').replace('CrossEntropyLoss', 'FocalLoss'));
    expect(checkConfig(file).problems.map((p) => p.message)).toEqual([
      'model.head.label_smoothing: a shorthand for model.head.loss.label_smoothing, but loss "FocalLoss" has no label_smoothing; leave it out and set FocalLoss\'s parameters under loss:',
    ]);
  });

  it('are validated in configs like every slot, with the key path of the loss\'s parameter', () => {
    const file = t.file('focal-bad.yaml');
    fs.writeFileSync(file, fs.readFileSync(t.file('tiny.yaml'), 'utf8').replace('head: { type: ClsHead }', 'head: { type: ClsHead, loss: { type: FocalLoss, gama: 2 } }'));
    const problems = checkConfig(file).problems;
    expect(problems.map((p) => p.path)).toEqual(['model.head.loss.gama']);
    expect(problems[0].suggestions).toContain('gamma');
  });
});

describe('a config that swaps CrossEntropyLoss for FocalLoss', () => {
  it('trains, with the focal loss in its logs and its resolved config', async () => {
    const firstLoss = (dir: string) =>
      fs
        .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((m) => m.split === 'train')
        .map((m) => m.loss as number);
    const ce = await train(t.file('tiny.yaml'), { workDir: path.join(t.dir, 'ce'), quiet: true });
    const override = { key: 'model.head.loss', value: '{type: FocalLoss, gamma: 2}', arg: '--model.head.loss {type: FocalLoss, gamma: 2}' };
    const focal = await train(t.file('tiny.yaml'), { workDir: path.join(t.dir, 'focal'), quiet: true, overrides: [override] });
    expect([ce.status, focal.status]).toEqual(['finished', 'finished']);
    expect(focal.iter).toBe(3);
    const [ceLosses, focalLosses] = [firstLoss(ce.runDir), firstLoss(focal.runDir)];
    expect(focalLosses).toHaveLength(3);
    expect(focalLosses.every(Number.isFinite)).toBe(true);
    // Near-uniform first logits: cross-entropy about ln 3, sigmoid focal (alpha 0.25, gamma 2) about 0.1.
    expect(ceLosses[0]).toBeGreaterThan(0.8);
    expect(focalLosses[0]).toBeLessThan(ceLosses[0] / 4);
    expect(fs.readFileSync(path.join(focal.runDir, 'config.yaml'), 'utf8')).toMatch(/type: FocalLoss/);
  });
});
