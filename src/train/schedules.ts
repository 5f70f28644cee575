/**
 * Learning-rate schedules as pure functions of where training stands, so a resumed run gets the
 * same rate at every iteration as an uninterrupted one. Each takes an optional warm-up (Goyal et
 * al., Accurate, Large Minibatch SGD, 2017): the rate ramps from `warmup_ratio x lr` to the
 * scheduled rate over the first `warmup_iters` iterations (or `warmup_epochs` epochs).
 */
import { z } from 'zod';
import { register } from '../core/registry';

export interface ScheduleProgress {
  iter: number;
  itersPerEpoch: number;
  maxIters: number;
}

/** Returns the learning rate of iteration `iter` from the optimizer's base rate. */
export type LrSchedule = (baseLr: number, at: ScheduleProgress) => number;

const warmupShape = {
  warmup: z.enum(['linear', 'constant', 'none']).default('linear').describe('Warm-up shape: linear ramp, constant low rate, or none'),
  warmup_iters: z.number().int().min(0).default(0).describe('Iterations of warm-up'),
  warmup_epochs: z.number().min(0).default(0).describe('Epochs of warm-up (used when warmup_iters is 0)'),
  warmup_ratio: z.number().min(0).max(1).default(0.001).describe('Rate at the start of warm-up, as a fraction of the scheduled rate'),
};

type WarmupConfig = { warmup: 'linear' | 'constant' | 'none'; warmup_iters: number; warmup_epochs: number; warmup_ratio: number };

function withWarmup(cfg: WarmupConfig, schedule: LrSchedule): LrSchedule {
  return (baseLr, at) => {
    const lr = schedule(baseLr, at);
    const warmIters = cfg.warmup_iters || Math.round(cfg.warmup_epochs * at.itersPerEpoch);
    if (cfg.warmup === 'none' || warmIters === 0 || at.iter >= warmIters) return lr;
    if (cfg.warmup === 'constant') return lr * cfg.warmup_ratio;
    const k = (1 - at.iter / warmIters) * (1 - cfg.warmup_ratio);
    return lr * (1 - k);
  };
}

export const stepParams = z.strictObject({
  steps: z.array(z.number().min(0)).min(1).describe('Epochs at which the rate is multiplied by gamma, e.g. [30, 60, 90]'),
  gamma: z.number().positive().default(0.1).describe('Factor applied at each step'),
  ...warmupShape,
});

register('lr_schedule', {
  type: 'StepLR',
  description: 'Step decay: multiply the rate by gamma at given epochs',
  paper: 'He et al., Deep Residual Learning, CVPR 2016 (steps at 30/60/90 epochs)',
  params: stepParams,
  build: (p): LrSchedule =>
    withWarmup(p, (lr, at) => {
      const epoch = at.iter / at.itersPerEpoch;
      return lr * p.gamma ** p.steps.filter((s) => epoch >= s).length;
    }),
});

export const cosineParams = z.strictObject({
  min_lr_ratio: z.number().min(0).max(1).default(0).describe('Rate at the end, as a fraction of the base rate'),
  ...warmupShape,
});

register('lr_schedule', {
  type: 'CosineLR',
  description: 'Cosine annealing from the base rate to min_lr_ratio x base over the whole run, per iteration',
  paper: 'Loshchilov and Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017',
  params: cosineParams,
  build: (p): LrSchedule =>
    withWarmup(p, (lr, at) => {
      const t = Math.min(1, at.iter / Math.max(1, at.maxIters));
      const min = lr * p.min_lr_ratio;
      return min + ((lr - min) * (1 + Math.cos(Math.PI * t))) / 2;
    }),
});

export const linearParams = z.strictObject({
  end_ratio: z.number().min(0).default(0).describe('Rate at the end, as a fraction of the base rate'),
  ...warmupShape,
});

register('lr_schedule', {
  type: 'LinearLR',
  description: 'Linear decay from the base rate to end_ratio x base over the whole run',
  paper: 'Goyal et al., Accurate, Large Minibatch SGD, 2017 (warm-up); linear decay as in BERT',
  params: linearParams,
  build: (p): LrSchedule =>
    withWarmup(p, (lr, at) => {
      const t = Math.min(1, at.iter / Math.max(1, at.maxIters));
      return lr * (1 - t * (1 - p.end_ratio));
    }),
});

register('lr_schedule', {
  type: 'ConstantLR',
  description: 'The base rate throughout (after the optional warm-up)',
  params: z.strictObject({ ...warmupShape }),
  build: (p): LrSchedule => withWarmup(p, (lr) => lr),
});
