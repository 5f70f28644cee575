/**
 * Momentum (target) encoders: a copy of the online network whose weights follow it as an
 * exponential moving average, xi <- m xi + (1 - m) theta (MoCo, He et al., CVPR 2020,
 * arXiv:1911.05722, Eq. 2; BYOL, Grill et al., NeurIPS 2020, arXiv:2006.07733, Section 3.1).
 *
 * The target is frozen (its parameters are not trainable), so the runner leaves it out of the
 * gradient tape and no gradient is ever computed for it; its batch-norm statistics follow its own
 * forward passes, as in the reference implementations.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { copyState, type Module } from '../../nn/module';

/** A pair of modules with the same architecture: the target follows the online one. */
export interface MomentumPair {
  online: Module;
  target: Module;
}

/** Start the target as an exact copy of the online network and freeze it. */
export function initTarget(pair: MomentumPair): void {
  copyState(pair.online, pair.target);
  pair.target.freeze();
}

/** xi <- m xi + (1 - m) theta for every parameter (buffers are left to the target's own forward passes). */
export function momentumUpdate(pair: MomentumPair, m: number): void {
  if (!(m >= 0 && m <= 1)) throw new Error(`momentum must be in [0, 1], got ${m}`);
  const online = new Map(pair.online.namedParameters().map(([n, p]) => [n, p.variable]));
  tf.tidy(() => {
    for (const [name, p] of pair.target.namedParameters()) {
      const src = online.get(name);
      if (!src) throw new Error(`momentum update: "${name}" of the target has no online counterpart`);
      p.variable.assign(tf.add(tf.mul(p.variable, m), tf.mul(src, 1 - m)));
    }
  });
}

/** The `momentum` parameter of an algorithm, with that algorithm's defaults. */
export function momentumScheduleParams(d: { base: number; end: number; schedule: 'cosine' | 'constant' }) {
  return z
    .strictObject({
      base: z.number().min(0).max(1).default(d.base).describe('Momentum at the first iteration (MoCo: 0.999 constant; BYOL/DINO: 0.996; MoBY: 0.99)'),
      end: z.number().min(0).max(1).default(d.end).describe('Momentum at the last iteration (cosine schedule)'),
      schedule: z.enum(['cosine', 'constant']).default(d.schedule).describe('cosine: end - (end - base) (cos(pi k / K) + 1) / 2 (BYOL Section 3.2); constant: base throughout'),
    })
    .default(d)
    .describe('Momentum of the target encoder, per iteration (applied by the MomentumUpdateHook the algorithm adds)');
}

export type MomentumSchedule = { base: number; end: number; schedule: 'cosine' | 'constant' };

/** The momentum of 0-based iteration `iter` of `maxIters`. */
export function scheduledMomentum(s: MomentumSchedule, iter: number, maxIters: number): number {
  if (s.schedule === 'constant') return s.base;
  const t = Math.min(1, iter / Math.max(1, maxIters));
  return s.end - ((s.end - s.base) * (Math.cos(Math.PI * t) + 1)) / 2;
}
