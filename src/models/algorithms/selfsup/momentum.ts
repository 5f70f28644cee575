/**
 * Momentum (target) encoders: a copy of the online network whose weights follow it as an
 * exponential moving average, xi <- m xi + (1 - m) theta (MoCo, He et al., CVPR 2020,
 * arXiv:1911.05722, Eq. 2; BYOL, Grill et al., NeurIPS 2020, arXiv:2006.07733, Section 3.1).
 * BYOL, MoBY, MoCo v2 and DINO each keep one MomentumEncoder: the copy of their backbone and of
 * the module on top of it (projector, or DINO's head), its EMA update, its momentum schedule and
 * its place in the model's checkpointed state.
 *
 * The target is frozen (its parameters are not trainable), so the runner leaves it out of the
 * gradient tape and no gradient is ever computed for it; its batch-norm statistics follow its own
 * forward passes, as in the reference implementations.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { registries, type BuildContext } from '../../../core/registry';
import type { ComponentConfig } from '../../../core/schema';
import { copyState, type Module } from '../../nn/module';
import type { Backbone } from '../../backbones/types';

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

/** A network in two parts: an encoder and the module on top of it (a projector, or DINO's head). */
export interface EncoderParts<B extends Module = Backbone, T extends Module = Module> {
  backbone: B;
  top: T;
}

/** How an algorithm asks for its momentum encoder. */
export interface MomentumEncoderSpec<T extends Module> {
  /** The copies are `<prefix>_backbone` and `<prefix>_<topKind>` in the model's state and checkpoints: `target` (BYOL, MoBY), `key` (MoCo), `teacher` (DINO). */
  prefix: string;
  /** The online network and the configs it was built from; its top is a neck (projector) or a head (DINO). */
  online: EncoderParts<Backbone, T>;
  configs: { backbone: ComponentConfig; top: ComponentConfig };
  topKind: 'neck' | 'head';
  schedule: MomentumSchedule;
  /** Stochastic depth of the copy, where its backbone takes `drop_path_rate` (MoBY's and DINO's asymmetric drop path). */
  dropPathRate?: number;
  /** See MomentumEncoder's constructor. */
  offset?: number;
}

export class MomentumEncoder<B extends Module = Backbone, T extends Module = Module> {
  readonly pairs: MomentumPair[];

  /**
   * @param target  copies of `online` (same architecture), started here as exact copies and frozen
   * @param offset  the schedule's position of the update after step k is k + offset: 0 where the
   *   reference updates after its optimizer step with that step's momentum (BYOL Algorithm 1, DINO,
   *   MoCo); 1 where it updates at the start of the next step with that step's (MoBY's moby.py: its
   *   counter also counts the no-op update before the first step).
   */
  constructor(
    readonly online: EncoderParts<B, T>,
    readonly target: EncoderParts<B, T>,
    readonly schedule: MomentumSchedule,
    readonly offset = 0,
  ) {
    this.pairs = [
      { online: online.backbone, target: target.backbone },
      { online: online.top, target: target.top },
    ];
    for (const pair of this.pairs) initTarget(pair);
  }

  /**
   * Build the copies from the online network's configs and register them in the owner's state
   * (`adopt` is its child registration), so checkpoints carry them.
   */
  static build<T extends Module>(adopt: <M extends Module>(name: string, m: M) => M, ctx: BuildContext, spec: MomentumEncoderSpec<T>): MomentumEncoder<Backbone, T> {
    const { configs, online } = spec;
    const takesDropPath = spec.dropPathRate !== undefined && 'drop_path_rate' in (registries.backbone.get(configs.backbone.type)?.params.shape ?? {});
    const backboneConfig = takesDropPath ? { ...configs.backbone, drop_path_rate: spec.dropPathRate } : configs.backbone;
    const backbone = adopt(`${spec.prefix}_backbone`, ctx.build<Backbone>('backbone', backboneConfig));
    const inChannels = online.backbone.outChannels[online.backbone.outChannels.length - 1];
    const top = adopt(`${spec.prefix}_${spec.topKind}`, ctx.build<T>(spec.topKind, configs.top, { in_channels: inChannels }));
    return new MomentumEncoder(online, { backbone, top }, spec.schedule, spec.offset);
  }

  /** The momentum applied after 0-based step `iter` of `maxIters`. */
  momentumAt(iter: number, maxIters: number): number {
    return scheduledMomentum(this.schedule, iter + this.offset, maxIters);
  }

  /** Move the target after 0-based step `iter`; returns the momentum used. */
  update(iter: number, maxIters: number): number {
    const m = this.momentumAt(iter, maxIters);
    for (const pair of this.pairs) momentumUpdate(pair, m);
    return m;
  }
}
