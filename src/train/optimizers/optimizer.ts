/**
 * The optimizer base: per-parameter options by role and name pattern, state kept in variables
 * that checkpoints save, and one update per parameter per step.
 *
 * Per-parameter options follow mmcv's `paramwise_cfg`: by default norms and biases get no weight
 * decay (as timm and most self-supervised recipes do); `custom` entries match parameter names
 * (`backbone.layer1.0.conv1.weight`) with a regular expression and scale their learning rate and
 * decay; the last matching entry wins. `layer_decay` scales the rates of a ViT's blocks or a ConvNeXt's
 * stages geometrically with depth (see layerDecayMultiplier); custom multipliers multiply with it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { UserError } from '../../core/problems';
import type { Parameter, ParamRole } from '../../models/nn/module';

export const paramwiseSchema = z
  .strictObject({
    norm_decay_mult: z.number().min(0).default(0).describe('Weight-decay multiplier of normalisation weights and biases (0 = no decay)'),
    bias_decay_mult: z.number().min(0).default(0).describe('Weight-decay multiplier of biases (0 = no decay)'),
    custom: z
      .array(
        z.strictObject({
          pattern: z.string().describe('Regular expression matched against parameter names, e.g. "^head\\\\." or "pos_embed"'),
          lr_mult: z.number().min(0).default(1).describe('Learning-rate multiplier'),
          decay_mult: z.number().min(0).default(1).describe('Weight-decay multiplier'),
        }),
      )
      .default([])
      .describe('Options by parameter name; the last matching entry wins'),
    layer_decay: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe('Layer-wise learning-rate decay for fine-tuning a ViT (BEiT, MAE: 0.65-0.75) or a ConvNeXt (0.7-0.8): block i of N learns at lr x layer_decay^(N - i), the embeddings at layer_decay^(N + 1), the final norm and the head at lr; a ConvNeXt\'s stages are grouped as its reference code does'),
  })
  .default({ norm_decay_mult: 0, bias_decay_mult: 0, custom: [] })
  .describe('Per-parameter options (mmcv paramwise_cfg)');

export type ParamwiseConfig = z.output<typeof paramwiseSchema>;

export interface OptimParam {
  name: string;
  variable: tf.Variable;
  role: ParamRole;
  lrMult: number;
  decayMult: number;
}

/** A backbone's layers for layer-wise decay: `count` of them; a parameter's multiplier is decay^(count - 1 - layer(name)). */
interface LayerIds {
  count: number;
  layer(name: string): number;
}

const VIT_BLOCK = /^backbone\.blocks\.(\d+)\./;
const VIT_EMBEDDING = /^backbone\.(?:cls_token|pos_embed|patch_embed)(?:\.|$)/;

/** MAE's get_layer_id_for_vit: the class token, position and patch embedding 0, `blocks.<i>` i + 1, the rest (final norm, head) depth + 1. */
function vitLayers(names: string[]): LayerIds | undefined {
  const blockIds = names.map((n) => VIT_BLOCK.exec(n)).filter((m) => m !== null).map((m) => Number(m[1]));
  if (!blockIds.length) return undefined;
  const last = Math.max(...blockIds) + 2;
  return {
    count: last + 1,
    layer(name) {
      const block = VIT_BLOCK.exec(name);
      return block ? Number(block[1]) + 1 : VIT_EMBEDDING.test(name) ? 0 : last;
    },
  };
}

const CONVNEXT_BLOCK = /^backbone\.stages\.(\d+)\.blocks\.(\d+)\./;
const CONVNEXT_DOWNSAMPLE = /^backbone\.stages\.(\d+)\.downsample\./;

/**
 * ConvNeXt's layers as its fine-tuning recipe groups them (the official code's
 * get_num_layer_for_convnext, mmpretrain's ConvNeXt.get_layer_depth): the stem 0; stages 0 and 1
 * (with the downsampling before stage 1) 1 and 2; stage 2 three blocks a layer from 3 (with its
 * downsampling at 3); stage 3 and its downsampling the last, 12 where stage 2 has more than 9 blocks
 * (small and up) and 6 otherwise (tiny); the final norm and the head one more.
 */
function convNeXtLayers(names: string[]): LayerIds | undefined {
  const blocks = names.map((n) => CONVNEXT_BLOCK.exec(n)).filter((m) => m !== null);
  if (!blocks.length) return undefined;
  const depths = [0, 1, 2, 3].map((s) => Math.max(0, ...blocks.filter((m) => Number(m[1]) === s).map((m) => Number(m[2]) + 1)));
  if (blocks.some((m) => Number(m[1]) > 3) || depths.includes(0)) {
    throw new UserError(`optimizer.paramwise.layer_decay: layer-wise decay groups ConvNeXt's layers by its four stages, and this one has ${Math.max(...blocks.map((m) => Number(m[1]))) + 1}`);
  }
  const top = depths[2] > 9 ? 12 : 6;
  const ofStage = (stage: number, block: number) => (stage < 2 ? stage + 1 : stage === 2 ? 3 + Math.floor(block / 3) : top);
  return {
    count: top + 2,
    layer(name) {
      if (name.startsWith('backbone.stem.')) return 0;
      const block = CONVNEXT_BLOCK.exec(name);
      if (block) return ofStage(Number(block[1]), Number(block[2]));
      const down = CONVNEXT_DOWNSAMPLE.exec(name);
      return down ? ofStage(Number(down[1]), 0) : top + 1;
    },
  };
}

/**
 * Layer-wise learning-rate decay (Bao et al., BEiT, arXiv:2106.08254; He et al., MAE,
 * arXiv:2111.06377, its util/lr_decay.py): the layers near the input, which pre-training made most
 * general, move least. A layer's multiplier is decay^(layers - 1 - its id), the ids those of a
 * VisionTransformer's blocks or a ConvNeXt's stages as their reference code numbers them.
 */
export function layerDecayMultiplier(names: string[], decay: number): (name: string) => number {
  const layers = vitLayers(names) ?? convNeXtLayers(names);
  if (!layers) {
    throw new UserError('optimizer.paramwise.layer_decay: the model has no parameters named backbone.blocks.<i> or backbone.stages.<s>.blocks.<i>; layer-wise decay needs a VisionTransformer or ConvNeXt backbone');
  }
  return (name) => decay ** (layers.count - 1 - layers.layer(name));
}

export function paramOptions(named: Array<[string, Parameter]>, cfg: ParamwiseConfig): OptimParam[] {
  const patterns = cfg.custom.map((c) => ({ ...c, re: new RegExp(c.pattern) }));
  const layerMult = cfg.layer_decay !== undefined && cfg.layer_decay < 1 ? layerDecayMultiplier(named.map(([n]) => n), cfg.layer_decay) : () => 1;
  return named
    .filter(([, p]) => p.variable.trainable)
    .map(([name, p]) => {
      let lrMult = layerMult(name);
      let decayMult = p.role === 'norm' ? cfg.norm_decay_mult : p.role === 'bias' ? cfg.bias_decay_mult : 1;
      for (const c of patterns) {
        if (c.re.test(name)) {
          lrMult = layerMult(name) * c.lr_mult;
          decayMult = c.decay_mult;
        }
      }
      return { name, variable: p.variable, role: p.role, lrMult, decayMult };
    });
}

/** What every optimizer's config has: a base rate and per-parameter options. */
export interface OptimizerConfig {
  lr: number;
  paramwise: ParamwiseConfig;
}

/** The state key suffix of a parameter's step count (`<param>.step`, as PyTorch's `state[p]['step']`). */
const PARAM_STEP = 'step';

export abstract class Optimizer<C extends OptimizerConfig = OptimizerConfig> {
  readonly params: OptimParam[];
  /** Optimizer steps taken (Adam's bias correction needs it). */
  steps = 0;
  private readonly state = new Map<string, tf.Variable>();
  /**
   * Steps that updated each parameter, as PyTorch keeps `state[p]['step']`: a parameter held
   * without gradients (DINO's last layer, SwAV's prototypes, in their first epoch) starts its
   * count, and Adam's bias correction, at its first gradient, not at the optimizer's.
   */
  private readonly paramSteps = new Map<string, number>();

  constructor(
    named: Array<[string, Parameter]>,
    readonly cfg: C,
  ) {
    this.params = paramOptions(named, cfg.paramwise);
  }

  /** The rate the schedule scales. */
  get baseLr(): number {
    return this.cfg.lr;
  }

  /** A state slot of a parameter (momentum buffer, Adam moments), created as zeros on first use. */
  protected slot(p: OptimParam, name: string): tf.Variable {
    const key = `${p.name}.${name}`;
    let v = this.state.get(key);
    if (!v) {
      v = tf.variable(tf.zerosLike(p.variable), false);
      this.state.set(key, v);
    }
    return v;
  }

  /** Steps that have updated `p`, this one included (1 at its first gradient). */
  protected stepsOf(p: OptimParam): number {
    return this.paramSteps.get(p.name) ?? 0;
  }

  protected hasSlot(p: OptimParam, name: string): boolean {
    return this.state.has(`${p.name}.${name}`);
  }

  /** Remove a state slot (one a checkpoint from an older layout brought) and hand it to the caller to dispose. */
  protected takeSlot(p: OptimParam, name: string): tf.Variable | undefined {
    const key = `${p.name}.${name}`;
    const v = this.state.get(key);
    this.state.delete(key);
    return v;
  }

  /** Update one parameter given its gradient and its effective learning rate. Runs inside a tidy. */
  protected abstract update(p: OptimParam, grad: tf.Tensor, lr: number): void;

  /** One step: `grads` by variable name (as tf.variableGrads returns them); `lr` is the base rate. */
  step(grads: Record<string, tf.Tensor | null>, lr: number): void {
    this.steps++;
    for (const p of this.params) {
      const g = grads[p.variable.name];
      if (!g) continue;
      this.paramSteps.set(p.name, this.stepsOf(p) + 1);
      tf.tidy(() => this.update(p, g, lr * p.lrMult));
    }
  }

  stateDict(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>(this.state);
    out.set('steps', tf.scalar(this.steps, 'int32'));
    for (const [name, n] of this.paramSteps) out.set(`${name}.${PARAM_STEP}`, tf.scalar(n, 'int32'));
    return out;
  }

  /** Dispose what stateDict made for the occasion (the step counts); its slots stay the optimizer's. */
  releaseStateDict(state: Map<string, tf.Tensor>): void {
    for (const t of state.values()) if (!(t instanceof tf.Variable)) t.dispose();
  }

  loadStateDict(state: Map<string, tf.Tensor>): void {
    const steps = state.get('steps');
    if (steps) this.steps = steps.dataSync()[0];
    const byName = new Map(this.params.map((p) => [p.name, p]));
    for (const [key, t] of state) {
      if (key === 'steps') continue;
      const dot = key.lastIndexOf('.');
      const p = byName.get(key.slice(0, dot));
      if (!p) continue;
      if (key.slice(dot + 1) === PARAM_STEP) this.paramSteps.set(p.name, t.dataSync()[0]);
      else {
        this.slot(p, key.slice(dot + 1)).assign(t);
        // A checkpoint from before per-parameter counts: the optimizer's count, as it was used.
        if (!state.has(`${p.name}.${PARAM_STEP}`)) this.paramSteps.set(p.name, this.steps);
      }
    }
  }

  dispose(): void {
    for (const v of this.state.values()) v.dispose();
    this.state.clear();
  }
}

/** What a registered optimizer builds: the optimizer once the model's parameters are known. */
export type OptimizerFactory = (named: Array<[string, Parameter]>) => Optimizer;
