/**
 * A small module system over TensorFlow.js core, shaped like PyTorch's nn.Module: a module owns
 * named parameters (trainable variables), buffers (state that is saved but not trained, such as
 * batch-norm running statistics) and child modules; names compose with dots
 * (`backbone.layer1.0.conv1.weight`) so checkpoints, per-parameter optimizer options and exports
 * can address every tensor.
 *
 * Tensors are NHWC, as TensorFlow.js is.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/problems';

/** A tensor of a state dict whose shape is not the model's (loadStateDict): another num_classes or variant, the user's to fix. */
export class ShapeMismatchError extends UserError {
  constructor(
    readonly key: string,
    readonly fileShape: number[],
    readonly modelShape: number[],
  ) {
    super(`cannot load "${key}": shape [${fileShape}] does not fit [${modelShape}]`);
    this.name = 'ShapeMismatchError';
  }
}

/** What a parameter is, for per-parameter optimizer options (no weight decay on norms and biases). */
export type ParamRole = 'weight' | 'bias' | 'norm' | 'embedding';

export interface Parameter {
  variable: tf.Variable;
  role: ParamRole;
}

export abstract class Module {
  private readonly _params = new Map<string, Parameter>();
  private readonly _buffers = new Map<string, tf.Variable>();
  private readonly _children = new Map<string, Module>();
  /** Training mode: batch statistics, dropout and drop-path are active. */
  training = true;

  /** Register a trainable parameter initialised with `value` (the module takes ownership). */
  protected param(name: string, value: tf.Tensor, role: ParamRole = 'weight'): tf.Variable {
    const v = tf.variable(value, true);
    value.dispose();
    this._params.set(name, { variable: v, role });
    return v;
  }

  /** Register non-trained state that checkpoints keep (running statistics, queues, centres). */
  protected buffer(name: string, value: tf.Tensor): tf.Variable {
    const v = tf.variable(value, false);
    value.dispose();
    this._buffers.set(name, v);
    return v;
  }

  /** Register a child module under `name`. */
  protected child<M extends Module>(name: string, m: M): M {
    this._children.set(name, m);
    return m;
  }

  /** Children in registration order. */
  children(): Array<[string, Module]> {
    return [...this._children];
  }

  /** Every parameter of this module and its descendants with its dotted name. */
  namedParameters(prefix = ''): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    for (const [n, p] of this._params) out.push([prefix + n, p]);
    for (const [n, c] of this._children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  namedBuffers(prefix = ''): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [n, b] of this._buffers) out.push([prefix + n, b]);
    for (const [n, c] of this._children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  /** Trainable variables only (frozen parameters are left out). */
  trainableVariables(): tf.Variable[] {
    return this.namedParameters()
      .map(([, p]) => p.variable)
      .filter((v) => v.trainable);
  }

  /** Parameters and buffers by name: what a checkpoint stores. */
  stateDict(): Map<string, tf.Variable> {
    return new Map([...this.namedParameters().map(([n, p]) => [n, p.variable] as [string, tf.Variable]), ...this.namedBuffers()]);
  }

  /**
   * Copy tensors into this module's variables by name. Returns the names that did not match, so
   * callers can report them (a self-supervised checkpoint loaded into a classifier lacks the head).
   */
  loadStateDict(state: Map<string, tf.Tensor>, options: { strict?: boolean; prefix?: string } = {}): { missing: string[]; unexpected: string[] } {
    const own = this.stateDict();
    const prefix = options.prefix ?? '';
    const missing: string[] = [];
    const seen = new Set<string>();
    for (const [name, v] of own) {
      const t = state.get(prefix + name);
      if (!t) {
        missing.push(name);
        continue;
      }
      seen.add(prefix + name);
      if (!tf.util.arraysEqual(t.shape, v.shape)) {
        throw new ShapeMismatchError(prefix + name, t.shape, v.shape);
      }
      tf.tidy(() => v.assign(t.dtype === v.dtype ? t : tf.cast(t, v.dtype)));
    }
    const unexpected = [...state.keys()].filter((k) => k.startsWith(prefix) && !seen.has(k)).map((k) => k.slice(prefix.length));
    if (options.strict && (missing.length || unexpected.length)) {
      throw new Error(`state does not match the model: missing ${missing.join(', ') || 'none'}; unexpected ${unexpected.join(', ') || 'none'}`);
    }
    return { missing, unexpected };
  }

  /** Set training mode on this module and every descendant. */
  train(mode = true): this {
    this.training = mode;
    for (const c of this._children.values()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Stop training these parameters (frozen stages, linear evaluation). */
  freeze(): this {
    for (const [, p] of this.namedParameters()) p.variable.trainable = false;
    return this;
  }

  unfreeze(): this {
    for (const [, p] of this.namedParameters()) p.variable.trainable = true;
    return this;
  }

  /** Number of parameters (all, or trainable only). */
  parameterCount(trainableOnly = false): number {
    return this.namedParameters()
      .filter(([, p]) => !trainableOnly || p.variable.trainable)
      .reduce((n, [, p]) => n + p.variable.size, 0);
  }

  dispose(): void {
    for (const p of this._params.values()) p.variable.dispose();
    for (const b of this._buffers.values()) b.dispose();
    for (const c of this._children.values()) c.dispose();
  }
}

/** A module with one input and one output tensor. */
export abstract class Layer<I extends tf.Tensor = tf.Tensor, O extends tf.Tensor = tf.Tensor> extends Module {
  abstract forward(x: I): O;
}

/** Modules applied one after another, named 0, 1, 2, ... */
export class Sequential extends Layer {
  readonly layers: Layer[];

  constructor(layers: Layer[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.child(String(i), l));
  }

  forward(x: tf.Tensor): tf.Tensor {
    let y = x;
    for (const l of this.layers) y = l.forward(y);
    return y;
  }
}

/** Copy every parameter and buffer of `from` into `to` (same architecture): momentum encoders start this way. */
export function copyState(from: Module, to: Module): void {
  const src = from.stateDict();
  for (const [name, v] of to.stateDict()) {
    const s = src.get(name);
    if (!s) throw new Error(`copyState: "${name}" is missing in the source module`);
    v.assign(s);
  }
}
