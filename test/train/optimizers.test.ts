import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import type { OptimizerFactory } from '../../src/train/optimizers/optimizer';
import type { Parameter } from '../../src/models/nn/module';
import type { LrSchedule } from '../../src/train/schedules';

beforeAll(async () => {
  await useCpu();
});

function params(values: Record<string, [number[], Parameter['role']]>): Array<[string, Parameter]> {
  return Object.entries(values).map(([name, [v, role]]) => [name, { variable: tf.variable(tf.tensor1d(v)), role }]);
}

function step(opt: ReturnType<OptimizerFactory>, named: Array<[string, Parameter]>, grads: number[][], lr: number): void {
  const g: Record<string, tf.Tensor> = {};
  named.forEach(([, p], i) => (g[p.variable.name] = tf.tensor1d(grads[i])));
  opt.step(g, lr);
}

describe('SGD', () => {
  it('momentum and L2 decay follow PyTorch: buf = m*buf + (g + wd*w), w -= lr*buf', () => {
    const named = params({ 'conv.weight': [[1.0], 'weight'], 'bn.weight': [[2.0], 'norm'] });
    const opt = build<OptimizerFactory>('optimizer', { type: 'SGD', lr: 0.1, momentum: 0.9, weight_decay: 0.01 })(named);
    step(opt, named, [[0.5], [0.5]], 0.1);
    // weight: g' = 0.5 + 0.01*1 = 0.51; buf = 0.51; w = 1 - 0.051 = 0.949
    expect(named[0][1].variable.dataSync()[0]).toBeCloseTo(0.949, 6);
    // norm: no decay by default (norm_decay_mult 0): w = 2 - 0.05 = 1.95
    expect(named[1][1].variable.dataSync()[0]).toBeCloseTo(1.95, 6);
    step(opt, named, [[0.5], [0.5]], 0.1);
    // weight: g' = 0.5 + 0.00949 = 0.50949; buf = 0.9*0.51 + 0.50949 = 0.96849; w = 0.949 - 0.096849
    expect(named[0][1].variable.dataSync()[0]).toBeCloseTo(0.949 - 0.096849, 6);
  });

  it('Nesterov uses g + m*buf', () => {
    const named = params({ w: [[1.0], 'weight'] });
    const opt = build<OptimizerFactory>('optimizer', { type: 'SGD', lr: 1, momentum: 0.5, nesterov: true })(named);
    step(opt, named, [[1]], 1);
    expect(named[0][1].variable.dataSync()[0]).toBeCloseTo(1 - 1.5, 6);
    step(opt, named, [[1]], 1);
    // buf = 0.5*1 + 1 = 1.5; update = 1 + 0.5*1.5 = 1.75
    expect(named[0][1].variable.dataSync()[0]).toBeCloseTo(-0.5 - 1.75, 6);
  });

  it('custom patterns set lr and decay multipliers; the last match wins', () => {
    const named = params({ 'backbone.w': [[1], 'weight'], 'head.fc.weight': [[1], 'weight'] });
    const opt = build<OptimizerFactory>('optimizer', {
      type: 'SGD',
      lr: 1,
      momentum: 0,
      paramwise: { custom: [{ pattern: '^head', lr_mult: 10 }, { pattern: 'fc', lr_mult: 2 }] },
    })(named);
    step(opt, named, [[0.1], [0.1]], 1);
    expect(named[0][1].variable.dataSync()[0]).toBeCloseTo(0.9, 6);
    expect(named[1][1].variable.dataSync()[0]).toBeCloseTo(0.8, 6);
  });
});

describe('AdamW', () => {
  it('matches the reference update with bias correction and decoupled decay', () => {
    const named = params({ w: [[1.0], 'weight'] });
    const opt = build<OptimizerFactory>('optimizer', { type: 'AdamW', lr: 0.1, weight_decay: 0.5, betas: [0.9, 0.99], eps: 1e-8 })(named);
    step(opt, named, [[0.2]], 0.1);
    // m = 0.02, v = 0.0004; mhat = 0.2, vhat = 0.04; step = 0.1 * 0.2 / (0.2 + 1e-8) = 0.1
    // w = 1 * (1 - 0.1*0.5) - 0.1 = 0.85
    expect(named[0][1].variable.dataSync()[0]).toBeCloseTo(0.85, 5);
  });

  it('counts steps per parameter: one held without gradients starts its bias correction at its first gradient, as in PyTorch', () => {
    const named = params({ live: [[1.0], 'weight'], held: [[1.0], 'weight'] });
    const opt = build<OptimizerFactory>('optimizer', { type: 'AdamW', lr: 0.01, weight_decay: 0 })(named);
    const [live, held] = named.map(([, p]) => p.variable);
    for (let i = 0; i < 100; i++) opt.step({ [live.name]: tf.tensor1d([0.3]) }, 0.01);
    expect(held.dataSync()[0]).toBe(1);
    // Under a constant gradient every Adam step is lr (m̂ = g, v̂ = g²): 10 steps move it 10 lr.
    // Counting the optimizer's steps (from 101) instead, v̂ was divided by 1 - 0.999^101 = 0.096
    // while it grew from 0: the 10 steps moved it 17.5 lr.
    for (let i = 0; i < 10; i++) opt.step({ [live.name]: tf.tensor1d([0.3]), [held.name]: tf.tensor1d([0.5]) }, 0.01);
    expect(1 - held.dataSync()[0]).toBeCloseTo(0.1, 6);
    // The counts travel with the state: a resumed optimizer takes the same next step.
    const resumed = build<OptimizerFactory>('optimizer', { type: 'AdamW', lr: 0.01, weight_decay: 0 })(params({ live: [[live.dataSync()[0]], 'weight'], held: [[held.dataSync()[0]], 'weight'] }));
    const state = opt.stateDict();
    expect([...state.keys()].filter((k) => k.endsWith('.step')).map((k) => [k, state.get(k)!.dataSync()[0]])).toEqual([['live.step', 110], ['held.step', 10]]);
    resumed.loadStateDict(state);
    // The counts are made for the occasion: released, nothing stays behind (a checkpoint each epoch would leak them).
    const before = tf.memory().numTensors;
    opt.releaseStateDict(opt.stateDict());
    expect(tf.memory().numTensors).toBe(before);
    const twin = resumed.params.map((p) => p.variable);
    for (const o of [opt, resumed]) {
      const [a, b] = o === opt ? [live, held] : twin;
      o.step({ [a.name]: tf.tensor1d([0.3]), [b.name]: tf.tensor1d([0.5]) }, 0.01);
    }
    expect(twin[1].dataSync()[0]).toBeCloseTo(held.dataSync()[0], 7);
  });
});

describe('LARS', () => {
  it('scales the step by eta*|w| / (|g| + wd*|w|) and skips norms', () => {
    const named = params({ w: [[3, 4], 'weight'], 'bn.weight': [[1, 1], 'norm'] });
    const opt = build<OptimizerFactory>('optimizer', { type: 'LARS', lr: 1, momentum: 0, weight_decay: 0, eta: 0.1 })(named);
    step(opt, named, [[0.6, 0.8], [0.6, 0.8]], 1);
    // |w| = 5, |g| = 1, trust = 0.5: w -= 0.5 * g
    const w = named[0][1].variable.dataSync();
    expect(w[0]).toBeCloseTo(3 - 0.3, 6);
    expect(w[1]).toBeCloseTo(4 - 0.4, 6);
    const n = named[1][1].variable.dataSync();
    expect(n[0]).toBeCloseTo(1 - 0.6, 6);
  });
});

describe('LARS momentum', () => {
  it('keeps the rate in the buffer (v = m*v + lr*trust*(g + wd*w), w -= v), as SimCLR, BYOL and mmselfsup', () => {
    // mmselfsup's LARS.step, written out for |w| = 5, |g| = 1 (trust = eta*5 / (1 + wd*5)) and a
    // rate that changes at every step (warm-up).
    const [eta, wd, m] = [0.1, 0.01, 0.9];
    const lrs = [0.01, 0.1, 0.3];
    const named = params({ w: [[3, 4], 'weight'] });
    const opt = build<OptimizerFactory>('optimizer', { type: 'LARS', lr: 1, momentum: m, weight_decay: wd, eta })(named);
    const w = [3, 4];
    const v = [0, 0];
    const g = [0.6, 0.8];
    for (const lr of lrs) {
      const wNorm = Math.hypot(w[0], w[1]);
      const trust = (eta * wNorm) / (Math.hypot(g[0], g[1]) + wd * wNorm);
      for (let i = 0; i < 2; i++) {
        v[i] = m * v[i] + lr * trust * (g[i] + wd * w[i]);
        w[i] -= v[i];
      }
      step(opt, named, [g], lr);
    }
    const got = named[0][1].variable.dataSync();
    // With the rate outside the buffer (w -= lr*v) the steps of 0.01 and 0.1 were taken again at 0.3: w[0] = 2.698 for 2.846.
    expect(got[0]).toBeCloseTo(w[0], 5);
    expect(got[1]).toBeCloseTo(w[1], 5);
  });

  it('carries over the buffer of a checkpoint written without the rate in it, at the rate of the next step', () => {
    const named = params({ w: [[3, 4], 'weight'] });
    const opt = build<OptimizerFactory>('optimizer', { type: 'LARS', lr: 1, momentum: 0.5, weight_decay: 0, eta: 0.2 })(named);
    opt.loadStateDict(new Map<string, tf.Tensor>([['w.momentum', tf.tensor1d([1, 2])], ['w.step', tf.scalar(4, 'int32')]]));
    step(opt, named, [[0.6, 0.8]], 0.1);
    // v = 0.5 * (0.1 * [1, 2]) + 0.1 * 1 * g (trust 0.2*5/1 = 1)
    const got = named[0][1].variable.dataSync();
    expect(got[0]).toBeCloseTo(3 - (0.05 + 0.06), 6);
    expect(got[1]).toBeCloseTo(4 - (0.1 + 0.08), 6);
    expect([...opt.stateDict().keys()].sort()).toEqual(['steps', 'w.step', 'w.velocity']);
  });
});

describe('LR schedules', () => {
  const at = (iter: number) => ({ iter, itersPerEpoch: 10, maxIters: 100 });
  it('cosine goes from the base rate to the minimum, with linear warm-up', () => {
    const s = build<LrSchedule>('lr_schedule', { type: 'CosineLR', min_lr_ratio: 0.1, warmup_iters: 10, warmup_ratio: 0.01 });
    expect(s(1, at(0))).toBeCloseTo(0.01 * (0.1 + 0.9 * 1), 6);
    expect(s(1, at(50))).toBeCloseTo(0.1 + 0.9 * 0.5, 6);
    expect(s(1, at(100))).toBeCloseTo(0.1, 6);
    expect(s(1, at(5))).toBeCloseTo((1 - 0.5 * 0.99) * (0.1 + (0.9 * (1 + Math.cos(Math.PI * 0.05))) / 2), 6);
  });
  it('step multiplies by gamma at epoch milestones', () => {
    const s = build<LrSchedule>('lr_schedule', { type: 'StepLR', steps: [3, 6], gamma: 0.1, warmup: 'none' });
    expect(s(1, at(29))).toBeCloseTo(1, 8);
    expect(s(1, at(30))).toBeCloseTo(0.1, 8);
    expect(s(1, at(60))).toBeCloseTo(0.01, 8);
  });
  it('linear decays to end_ratio', () => {
    const s = build<LrSchedule>('lr_schedule', { type: 'LinearLR', end_ratio: 0.5 });
    expect(s(2, at(50))).toBeCloseTo(1.5, 6);
  });
});
