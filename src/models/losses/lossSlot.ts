/**
 * Losses as components a config can name (mmpretrain's and EasyCV's `loss=dict(type=...)`): a head
 * or algorithm has a `loss:` slot, `head.loss: { type: FocalLoss, gamma: 2 }`, filled by default
 * with the loss it always used.
 *
 * A loss is called with what its owner computes, and owners compute different things (logits and
 * labels, two views' projections, a query against a queue, ...): each loss is registered with the
 * input it takes, and a slot accepts the losses of its input only, so that a wrong pick fails at
 * build time with the losses that fit rather than at the first step with a shape error. Losses
 * registered by `custom_imports` through plain `register('loss', ...)` declare no input and are
 * trusted.
 *
 * Keys that configs wrote before the slot existed (`SimCLR.temperature`, `ClsHead.label_smoothing`)
 * stay as shorthands for the loss's parameter: the same schema, taken from the loss, not repeated.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { registries, type BuildContext, type ComponentSpec } from '../../core/registry';
import { descriptionOf, SHORTHAND_META_KEY, shorthandClash, slot, type ComponentConfig, type Shorthand } from '../../core/schema';
import { UserError } from '../../core/problems';
import type { DINOLoss as DistillationLoss } from './dinoLoss';

/** What a loss is called with. */
export type LossInput =
  /** logits `[N, K]` and labels `[N]` (classification) */
  | 'classification'
  /** logits `[n, h, w, K]` and labels `[n, h, w]` (segmentation) */
  | 'pixels'
  /** two views' projections `[N, D]`, row i of both from the same image (SimCLR) */
  | 'views'
  /** a prediction and its target `[N, D]` (BYOL) */
  | 'prediction'
  /** L2-normalised queries, their keys `[N, D]` and a queue of negatives `[K, D]` (MoCo, MoBY) */
  | 'queue'
  /** prototype scores of every view (SwAV) */
  | 'prototypes'
  /** student and teacher outputs of multi-crop views (DINO) */
  | 'distillation'
  /** predicted and true patches and the mask (MAE) */
  | 'patches';

/** What a loss of each input is, once built. */
export interface Losses {
  classification: (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Scalar;
  pixels: (logits: tf.Tensor4D, labels: tf.Tensor3D) => tf.Scalar;
  views: (z1: tf.Tensor2D, z2: tf.Tensor2D) => tf.Scalar;
  prediction: (prediction: tf.Tensor2D, target: tf.Tensor2D) => tf.Scalar;
  queue: (q: tf.Tensor2D, k: tf.Tensor2D, queue: tf.Tensor2D) => tf.Scalar;
  /** Scores `[B, K]` of every view; codes of the views `cropsForAssign`, with optional queued scores below the batch. */
  prototypes: (scores: tf.Tensor2D[], o: { cropsForAssign: number[]; queueScores?: Array<tf.Tensor2D | undefined> }) => tf.Scalar;
  /** A module (it keeps the running centre); see DINOLoss. */
  distillation: DistillationLoss;
  /** `pred`, `target` `[B, N, P]`, `mask` `[B, N]` (1: masked). */
  patches: (pred: tf.Tensor3D, target: tf.Tensor3D, mask: tf.Tensor2D) => tf.Scalar;
}

type ParamsSchema = z.ZodObject<z.ZodRawShape>;

/**
 * A loss's registration with the input it takes: `register('loss', lossSpec('classification', {...}))`
 * (registered from the loss's own file, which `cvw show` and go-to-definition name).
 */
export function lossSpec<P extends ParamsSchema, I extends LossInput>(input: I, spec: ComponentSpec<P, Losses[I]>): ComponentSpec<P, Losses[I]> {
  return { ...spec, input } as ComponentSpec<P, Losses[I]>;
}

function inputOf(type: string): LossInput | undefined {
  return (registries.loss.get(type) as { input?: LossInput } | undefined)?.input;
}

/** The losses registered for `input`. */
export function lossesFor(input: LossInput): string[] {
  return registries.loss.names().filter((n) => inputOf(n) === input);
}

/** A `loss:` slot of an owner computing `input`, defaulting to `type`. */
export function lossSlot(input: LossInput, type: string) {
  return slot('loss', `The loss, any loss of ${input} input (cvw list losses); ${type} by default`).default({ type });
}

/**
 * The schema of a shorthand key for parameter `key` of a loss: the loss's own schema without its
 * default (left out, the loss's config or default decides). Config resolution moves a set
 * shorthand into `loss:` (core/defaults.ts), and the validator rejects one that contradicts it.
 */
export function lossShorthand<P extends ParamsSchema, K extends keyof P['shape'] & string>(params: P, key: K, lossType: string) {
  const schema = params.shape[key] as unknown as z.ZodDefault<z.ZodType<z.output<P>[K]>>;
  const shorthand: Shorthand = { slot: 'loss', key };
  return schema
    .unwrap()
    .optional()
    .meta({ description: `Shorthand for loss.${key} of ${lossType}: ${descriptionOf(schema) ?? key}`, [SHORTHAND_META_KEY]: shorthand });
}

/**
 * Build the loss of slot value `cfg` for `owner` (a name for messages), checking that it takes
 * `input`; `shorthands` are the owner's shorthand keys, which set the loss's parameters the
 * loss's own config leaves out. (A resolved config already carries them in `cfg`; components
 * built from a config that was not resolved, as tests and the Node API may, get them here.)
 * `derived` are parameters the owner works out (DINO's `out_dim` from its head), which the loss's
 * config may set for the owner to check.
 */
export function buildLoss<I extends LossInput>(ctx: BuildContext, owner: string, input: I, cfg: ComponentConfig, shorthands: Record<string, unknown> = {}, derived: Record<string, unknown> = {}): Losses[I] {
  const entry = registries.loss.get(cfg.type);
  const takes = entry && inputOf(entry.type);
  if (takes && takes !== input) {
    throw new UserError(`${owner}: loss ${entry.type} takes ${takes} input, but ${owner} computes ${input} input; use one of ${lossesFor(input).join(', ') || 'none registered'}`);
  }
  const set = Object.fromEntries(Object.entries(shorthands).filter(([, v]) => v !== undefined));
  for (const key of Object.keys(set)) {
    if (entry && !(key in entry.params.shape)) throw new UserError(`${owner}: ${key} is a shorthand for loss.${key}, but loss ${entry.type} has no ${key}; leave ${key} out and set the loss's parameters under loss:`);
    const clash = cfg[key] === undefined ? undefined : shorthandClash(owner, { slot: 'loss', key, owner: key }, set[key], cfg[key]);
    if (clash) throw new UserError(clash);
  }
  return ctx.build<Losses[I]>('loss', cfg, { ...derived, ...set });
}
