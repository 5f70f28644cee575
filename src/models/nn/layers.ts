/**
 * Building blocks: convolution, linear, normalisation, dropout, stochastic depth, pooling.
 * Shapes are NHWC for images and [batch, features] (or [batch, tokens, features]) otherwise.
 * Padding follows PyTorch (explicit, symmetric) so that architectures match their reference
 * implementations exactly, in export and in benchmarks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer } from './module';
import * as init from './init';
import { stepRandom } from './stepRandom';
import { stopGradient } from './stopGradient';
import { batchNormTrain, runningStatistics } from '../../engine/ops/batchNorm';
import { layerNormTrain } from '../../engine/ops/layerNorm';
import { batchNormSync } from './batchNormSync';
import { batchNormSlices } from './batchNormGroups';
import { syncBatchNormTrain } from '../../distributed/syncBatchNorm';

export interface Conv2dOptions {
  stride?: number;
  /** Symmetric zero padding in pixels (PyTorch semantics); default keeps the size at stride 1: (k - 1) / 2 * dilation. */
  padding?: number;
  dilation?: number;
  /** 1 for a dense convolution, `inChannels` for a depthwise one. */
  groups?: number;
  bias?: boolean;
  /** Kaiming-normal (fan_out, ResNet's) by default; trunc_normal: std 0.02 (ConvNeXt's, as its linear layers). */
  init?: 'kaiming' | 'trunc_normal';
}

/** 2-D convolution, weights HWIO `[k, k, in, out]` (depthwise: `[k, k, in, 1]`), Kaiming-normal (fan_out) init unless told otherwise. */
export class Conv2d extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly depthwise: boolean;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: Conv2dOptions = {},
  ) {
    super();
    this.stride = options.stride ?? 1;
    this.dilation = options.dilation ?? 1;
    this.padding = options.padding ?? Math.floor((kernelSize - 1) / 2) * this.dilation;
    const groups = options.groups ?? 1;
    if (groups !== 1 && !(groups === inChannels && outChannels === inChannels)) {
      throw new Error(`Conv2d: groups must be 1 or equal to in = out channels (depthwise), got groups=${groups}, in=${inChannels}, out=${outChannels}`);
    }
    this.depthwise = groups !== 1;
    const k = kernelSize;
    const shape = this.depthwise ? [k, k, inChannels, 1] : [k, k, inChannels, outChannels];
    this.weight = this.param('weight', options.init === 'trunc_normal' ? init.truncNormal(shape, 0.02) : init.kaimingNormal(shape, this.depthwise ? k * k : k * k * outChannels));
    if (options.bias) this.bias = this.param('bias', init.zeros([outChannels]), 'bias');
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const pad = this.padding;
    let y = this.depthwise
      ? tf.depthwiseConv2d(x, this.weight as tf.Tensor4D, this.stride, pad === 0 ? 'valid' : explicitPad(pad), 'NHWC', this.dilation)
      : tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, pad === 0 ? 'valid' : explicitPad(pad), 'NHWC', this.dilation);
    if (this.bias) y = tf.add(y, this.bias);
    return y;
  }
}

function explicitPad(p: number): [[number, number], [number, number], [number, number], [number, number]] {
  return [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
}

export interface LinearOptions {
  bias?: boolean;
  /** default: PyTorch's uniform(±1/sqrt(in)); trunc_normal: std 0.02 as in ViT/DINO; zeros for heads started at zero. */
  init?: 'default' | 'trunc_normal' | 'xavier' | 'zeros';
}

/** Fully-connected layer, weights `[in, out]`; applies to the last axis. */
export class Linear extends Layer {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    const kind = options.init ?? 'default';
    const w =
      kind === 'trunc_normal'
        ? init.truncNormal([inFeatures, outFeatures], 0.02)
        : kind === 'xavier'
          ? init.xavierUniform([inFeatures, outFeatures], inFeatures, outFeatures)
          : kind === 'zeros'
            ? init.zeros([inFeatures, outFeatures])
            : init.uniform([inFeatures, outFeatures], bound);
    this.weight = this.param('weight', w);
    if (options.bias ?? true) {
      this.bias = this.param('bias', kind === 'default' ? init.uniform([outFeatures], bound) : init.zeros([outFeatures]), 'bias');
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank === 2) {
      return this.bias ? tf.add(tf.matMul(x as tf.Tensor2D, this.weight as tf.Tensor2D), this.bias) : tf.matMul(x as tf.Tensor2D, this.weight as tf.Tensor2D);
    }
    const lead = x.shape.slice(0, -1);
    const flat = tf.reshape(x, [-1, this.inFeatures]) as tf.Tensor2D;
    let y: tf.Tensor = tf.matMul(flat, this.weight as tf.Tensor2D);
    if (this.bias) y = tf.add(y, this.bias);
    return tf.reshape(y, [...lead, this.outFeatures]);
  }
}

/**
 * Batch normalisation (Ioffe and Szegedy, 2015) over every axis but the last: NHWC images
 * (BatchNorm2d) or [batch, features] (BatchNorm1d). Running statistics follow PyTorch: momentum
 * 0.1 and the unbiased batch variance.
 */
export class BatchNorm extends Layer {
  readonly gamma?: tf.Variable;
  readonly beta?: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(
    readonly channels: number,
    readonly options: { eps?: number; momentum?: number; affine?: boolean; zeroInit?: boolean } = {},
  ) {
    super();
    if (options.affine ?? true) {
      this.gamma = this.param('weight', options.zeroInit ? init.zeros([channels]) : init.ones([channels]), 'norm');
      this.beta = this.param('bias', init.zeros([channels]), 'norm');
    }
    this.runningMean = this.buffer('running_mean', init.zeros([channels]));
    this.runningVar = this.buffer('running_var', init.ones([channels]));
  }

  get eps(): number {
    return this.options.eps ?? 1e-5;
  }

  forward(x: tf.Tensor): tf.Tensor {
    const eps = this.eps;
    if (!this.training) {
      const scale = tf.mul(tf.rsqrt(tf.add(this.runningVar, eps)), this.gamma ?? 1);
      const shift = tf.sub(this.beta ?? 0, tf.mul(this.runningMean, scale));
      return tf.add(tf.mul(x, scale), shift);
    }
    const sync = batchNormSync();
    if (sync) {
      const s = syncBatchNormTrain(x, this.gamma as tf.Tensor1D | undefined, this.beta as tf.Tensor1D | undefined, eps, sync);
      this.updateRunningStats(s.mean, s.variance, s.count);
      return s.y;
    }
    const slices = batchNormSlices(x.shape[0]);
    if (slices.length > 1) return this.forwardSliced(x, slices);
    // The closed-form gradient (src/engine/ops/batchNorm.ts): tfjs' op-by-op one dominates a step.
    const { y, mean, variance } = batchNormTrain(x, this.gamma as tf.Tensor1D | undefined, this.beta as tf.Tensor1D | undefined, eps);
    this.updateRunningStats(mean, variance, x.size / this.channels);
    return y;
  }

  /**
   * Each slice of the batch normalised with its own statistics (batchNormGroups.ts). The running
   * statistics move towards the slices' mean statistics, as SplitBatchNorm's average of the
   * slices' running statistics does.
   */
  private forwardSliced(x: tf.Tensor, slices: number[]): tf.Tensor {
    const parts = tf.split(x, slices, 0).map((part) => batchNormTrain(part, this.gamma as tf.Tensor1D | undefined, this.beta as tf.Tensor1D | undefined, this.eps));
    const mean = tf.div(tf.addN(parts.map((p) => p.mean)), parts.length);
    const variance = tf.div(tf.addN(parts.map((p) => p.variance)), parts.length);
    this.updateRunningStats(mean, variance, x.size / this.channels / slices.length);
    return tf.concat(parts.map((p) => p.y), 0);
  }

  /**
   * `activate(forward(x), act)`, with a ReLU or ReLU6 fused into the training kernels where the
   * engine has them (src/engine/ops/batchNorm.ts: no sweep of its own, its input never stored).
   */
  forwardActivated(x: tf.Tensor, act: Activation): tf.Tensor {
    if (!this.training || (act !== 'relu' && act !== 'relu6') || batchNormSync() || batchNormSlices(x.shape[0]).length > 1) return activate(this.forward(x), act);
    const { y, mean, variance } = batchNormTrain(x, this.gamma as tf.Tensor1D | undefined, this.beta as tf.Tensor1D | undefined, this.eps, act);
    this.updateRunningStats(mean, variance, x.size / this.channels);
    return y;
  }

  protected updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, count: number): void {
    const m = this.options.momentum ?? 0.1;
    tf.tidy(() => {
      const [runningMean, runningVar] = runningStatistics(this.runningMean, this.runningVar, stopGradient(mean), stopGradient(variance), m, count);
      this.runningMean.assign(runningMean);
      this.runningVar.assign(runningVar);
    });
  }
}

/** Layer normalisation (Ba et al., 2016) over the last axis. */
export class LayerNorm extends Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(
    readonly features: number,
    readonly eps = 1e-6,
  ) {
    super();
    this.gamma = this.param('weight', init.ones([features]), 'norm');
    this.beta = this.param('bias', init.zeros([features]), 'norm');
  }

  forward(x: tf.Tensor): tf.Tensor {
    // Training: the closed-form gradient (engine/ops/layerNorm.ts); inference keeps the plain ops the exporters translate.
    if (this.training) return layerNormTrain(x, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, this.eps);
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps))), this.gamma), this.beta);
  }
}

/** Dropout with the step's seeded generator, so a resumed run drops the same units. */
export class Dropout extends Layer {
  constructor(readonly rate: number) {
    super();
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.rate === 0) return x;
    return tf.dropout(x, this.rate, undefined, stepRandom().nextUint32());
  }
}

/**
 * Stochastic depth (Huang et al., Deep Networks with Stochastic Depth, 2016): drops a residual
 * branch for a whole sample with probability `rate` and rescales the kept ones.
 */
export class DropPath extends Layer {
  constructor(readonly rate: number) {
    super();
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.rate === 0) return x;
    const n = x.shape[0];
    const keep = 1 - this.rate;
    const mask = new Float32Array(n);
    const rng = stepRandom();
    for (let i = 0; i < n; i++) mask[i] = rng.chance(keep) ? 1 / keep : 0;
    return tf.mul(x, tf.tensor(mask, [n, ...x.shape.slice(1).map(() => 1)]));
  }
}

export type Activation = 'relu' | 'relu6' | 'gelu' | 'silu' | 'none';

export function activate(x: tf.Tensor, kind: Activation): tf.Tensor {
  switch (kind) {
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'gelu':
      return gelu(x);
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'none':
      return x;
  }
}

/** Exact GELU (Hendrycks and Gimpel, 2016): x * Phi(x). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/** Max pooling with PyTorch-style symmetric padding. */
export class MaxPool2d extends Layer<tf.Tensor4D, tf.Tensor4D> {
  constructor(
    readonly kernelSize: number,
    readonly stride: number,
    readonly padding = 0,
  ) {
    super();
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (this.padding === 0) return tf.maxPool(x, this.kernelSize, this.stride, 'valid');
    // Padding with -inf keeps border maxima exact (zero padding would clip negative inputs).
    const p = this.padding;
    const padded = tf.pad(x, explicitPad(p), -3.4e38);
    return tf.maxPool(padded, this.kernelSize, this.stride, 'valid');
  }
}

/** Global average pooling: NHWC -> [N, C]. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

/** Conv + BatchNorm + activation, the unit most CNNs are made of. */
export class ConvBnAct extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;

  constructor(inC: number, outC: number, k: number, options: Conv2dOptions & { act?: Activation; zeroInitBn?: boolean } = {}) {
    super();
    this.conv = this.child('conv', new Conv2d(inC, outC, k, { ...options, bias: false }));
    this.bn = this.child('bn', new BatchNorm(outC, { zeroInit: options.zeroInitBn }));
    this.act = options.act ?? 'relu';
  }

  private readonly act: Activation;

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.bn.forwardActivated(this.conv.forward(x), this.act) as tf.Tensor4D;
  }
}
