/**
 * The optimizer base: per-parameter options by role and name pattern, state kept in variables
 * that checkpoints save, and one update per parameter per step.
 *
 * Per-parameter options follow mmcv's `paramwise_cfg`: by default norms and biases get no weight
 * decay (as timm and most self-supervised recipes do); `custom` entries match parameter names
 * (`backbone.layer1.0.conv1.weight`) with a regular expression and scale their learning rate and
 * decay; the last matching entry wins. `layer_decay` scales the rates of a ViT backbone's blocks
 * geometrically with depth (see layerDecayMultiplier); custom multipliers multiply with it.
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
      .describe('Layer-wise learning-rate decay for fine-tuning a ViT (BEiT, MAE: 0.65-0.75): block i of N learns at lr x layer_decay^(N - i), the embeddings at layer_decay^(N + 1), the final norm and the head at lr'),
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

const VIT_BLOCK = /^backbone\.blocks\.(\d+)\./;
const VIT_EMBEDDING = /^backbone\.(?:cls_token|pos_embed|patch_embed)(?:\.|$)/;

/**
 * Layer-wise learning-rate decay (Bao et al., BEiT, arXiv:2106.08254; He et al., MAE,
 * arXiv:2111.06377, its util/lr_decay.py): the layers near the input, which pre-training made most
 * general, move least. Layer ids follow MAE's get_layer_id_for_vit on the backbone's names: the
 * class token, position embedding and patch embedding are 0, `blocks.<i>` is i + 1, everything
 * else (final norm, head) is depth + 1; a layer's multiplier is decay^(depth + 1 - id).
 */
export function layerDecayMultiplier(names: string[], decay: number): (name: string) => number {
  const blockIds = names.map((n) => VIT_BLOCK.exec(n)).filter((m) => m !== null).map((m) => Number(m[1]));
  if (!blockIds.length) {
    throw new UserError('optimizer.paramwise.layer_decay: the model has no parameters named backbone.blocks.<i>; layer-wise decay needs a VisionTransformer backbone');
  }
  const top = Math.max(...blockIds) + 2;
  return (name) => {
    const block = VIT_BLOCK.exec(name);
    const id = block ? Number(block[1]) + 1 : VIT_EMBEDDING.test(name) ? 0 : top;
    return decay ** (top - id);
  };
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
