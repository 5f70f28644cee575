/**
 * The kernels behind `batchNormTrain` (ops/batchNorm.ts) on the wasm backend, and the per-sample
 * channel sums SyncBatchNorm takes (`CvwPerSampleChannelSums`, src/distributed/syncBatchNorm.ts).
 *
 * Channels in whole f32x4 vectors (nearly every network) run on the SIMD passes of
 * src/engine/simd/batchNorm.wat, one sweep over the activations each; other channel counts compose
 * the backend's kernels: per-channel sums as one batched matrix-vector product per sample
 * (ones[N,1,K] · x[N,K,C]; BatchMatMul, onnxruntime's GEMM on wasm-ort) and full-size Sub /
 * Multiply / Add / Square passes. Both give the same arithmetic: sums per sample in float32, added
 * up over the samples in float64 (a sample's sum is the same whichever batch holds it, so
 * SyncBatchNorm gets one process's statistics from the ranks' halves of its batch), and per-channel
 * vectors ([C]) worked out in JavaScript in float64.
 *
 *   forward:  μ = Σx/M,  σ² = Σ(x − μ)²/M,  y = (x − μ)·γσ⁻¹ + β
 *   backward: ∂β = Σdy,  ∂γ = σ⁻¹·Σdy·(x − μ),  ∂x = (dy·k + (x − μ)·a) + b
 *             with k = γσ⁻¹, a = −k·σ⁻¹·∂γ/M, b = −k·∂β/M
 *
 * With `activation` ReLU or ReLU6 the kernels also apply it: forward y = act(z) for the z above,
 * backward dy·act'(z) in place of dy, z worked out again from x, the forward pass's `scale`
 * (γσ⁻¹ in float32, its fourth output) and β, so neither z nor the activation's gradient is stored
 * (act' is TensorFlow.js': [z > 0] for ReLU, [0 < z ≤ 6] for ReLU6).
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, PER_SAMPLE_CHANNEL_SUMS, RUNNING_STATISTICS, type FusedActivation } from '../ops/batchNorm';
import { batchNormPasses, channelsFitPasses } from '../simd/batchNormPasses';
import { heapOffset } from '../simd/module';
import { KernelScope } from './kernelScope';

type Inputs = Record<string, TensorInfo | undefined>;

/** The activation's upper clamp: y = min(max(z, 0), hi). */
const CLAMP_HIGH = { relu: Infinity, relu6: 6 } as const;

/** What the backward steps need to work the fused activation's gradient out again. */
interface Fused {
  /** γσ⁻¹ [C] as the forward pass used it, and β (or zeros). */
  scale: TensorInfo;
  shift: TensorInfo;
  hi: number;
}

function checkFloat(kernel: string, inputs: Inputs): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t && t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
  }
}

/** A [C] (or any shape) float32 tensor with these values. */
function vector(s: KernelScope, values: ArrayLike<number>, shape = [values.length]): TensorInfo {
  const out = s.backend.makeOutput(shape, 'float32');
  (s.backend.typedArrayFromHeap(out) as Float32Array).set(values);
  return s.track(out);
}

/** Activations viewed as [N, K, C]: M = N·K rows of C channels. */
interface Dims {
  n: number;
  k: number;
  c: number;
  m: number;
}

function dims(x: TensorInfo): Dims {
  const c = x.shape[x.shape.length - 1];
  const n = x.shape[0];
  const m = util.sizeFromShape(x.shape) / c;
  return { n, k: m / n, c, m };
}

/** Per-sample float32 sums [N, C] added up over the samples in float64. */
function overSamples(s: KernelScope, perSample: TensorInfo, c: number): Float64Array {
  const values = s.backend.typedArrayFromHeap(perSample) as Float32Array;
  const out = new Float64Array(c);
  for (let i = 0; i < values.length; i++) out[i % c] += values[i];
  return out;
}

/**
 * The five steps both kernels are made of; tensors in and out belong to the scope. With `fused`
 * (`hi` in the forward pass), the activation's clamp follows the normalisation and its gradient
 * masks dy.
 */
interface Steps {
  /** [N, C]: Σ over each sample's pixels. */
  sums(t: TensorInfo): TensorInfo;
  /** [N, C]: Σ (x − mean)² over each sample's pixels. */
  centeredSquareSums(x: TensorInfo, mean: TensorInfo): TensorInfo;
  /** (x − mean)·scale + shift, then min(max(·, 0), hi) with `hi`; shaped as x. */
  normalize(x: TensorInfo, mean: TensorInfo, scale: TensorInfo, shift: TensorInfo, hi?: number): TensorInfo;
  /** [N, C] each: Σ g and Σ g·(x − mean) over each sample's pixels, g = dy (masked when fused). */
  gradSums(dy: TensorInfo, x: TensorInfo, mean: TensorInfo, fused?: Fused): [TensorInfo, TensorInfo];
  /** (g·a + (x − mean)·b) + d, shaped as x, g = dy (masked when fused). */
  gradInput(dy: TensorInfo, x: TensorInfo, mean: TensorInfo, a: TensorInfo, b: TensorInfo, d: TensorInfo, fused?: Fused): TensorInfo;
}

/** One SIMD sweep per step. */
function simdSteps(s: KernelScope, { n, k, c, m }: Dims): Steps | undefined {
  const passes = channelsFitPasses(c) ? batchNormPasses(s.backend) : undefined;
  if (!passes) return undefined;
  const at = (t: TensorInfo) => heapOffset(s.backend, t);
  const output = (shape: number[]) => s.track(s.backend.makeOutput(shape, 'float32'));
  return {
    sums(t) {
      const out = output([n, c]);
      passes.sums(at(t), n, k, c, at(out));
      return out;
    },
    centeredSquareSums(x, mean) {
      const out = output([n, c]);
      passes.centered_square_sums(at(x), at(mean), n, k, c, at(out));
      return out;
    },
    normalize(x, mean, scale, shift, hi) {
      const y = output(x.shape);
      if (hi === undefined) passes.normalize(at(x), at(mean), at(scale), at(shift), m, c, at(y));
      else passes.normalize_act(at(x), at(mean), at(scale), at(shift), hi, m, c, at(y));
      return y;
    },
    gradSums(dy, x, mean, fused) {
      const [sumDy, sumDyXc] = [output([n, c]), output([n, c])];
      if (!fused) passes.grad_sums(at(dy), at(x), at(mean), n, k, c, at(sumDy), at(sumDyXc));
      else passes.grad_sums_act(at(dy), at(x), at(mean), at(fused.scale), at(fused.shift), fused.hi, n, k, c, at(sumDy), at(sumDyXc));
      return [sumDy, sumDyXc];
    },
    gradInput(dy, x, mean, a, b, d, fused) {
      const dx = output(x.shape);
      if (!fused) passes.grad_input(at(dy), at(x), at(mean), at(a), at(b), at(d), m, c, at(dx));
      else passes.grad_input_act(at(dy), at(x), at(mean), at(fused.scale), at(fused.shift), fused.hi, at(a), at(b), at(d), m, c, at(dx));
      return dx;
    },
  };
}

/** The backend's kernels, one sweep per operation. */
function composedSteps(s: KernelScope, { n, k, c, m }: Dims): Steps {
  const rows = (t: TensorInfo) => s.reshape(t, [m, c]);
  let ones: TensorInfo | undefined;
  const sums = (t: TensorInfo) => {
    ones ??= vector(s, new Float32Array(n * k).fill(1), [n, 1, k]);
    return s.reshape(s.run('BatchMatMul', { a: ones, b: s.reshape(t, [n, k, c]) }, { transposeA: false, transposeB: false }), [n, c]);
  };
  const centered = (x: TensorInfo, mean: TensorInfo) => s.run('Sub', { a: rows(x), b: mean });
  const normalize = (x: TensorInfo, mean: TensorInfo, scale: TensorInfo, shift: TensorInfo) => s.run('Add', { a: s.run('Multiply', { a: centered(x, mean), b: scale }), b: shift });
  // dy·[0 < z ≤ hi], once for both backward steps.
  let maskedDy: { dy: TensorInfo; g: TensorInfo } | undefined;
  const grad = (dy: TensorInfo, x: TensorInfo, mean: TensorInfo, fused: Fused | undefined) => {
    if (!fused) return rows(dy);
    if (maskedDy?.dy !== dy) {
      const z = normalize(x, mean, fused.scale, fused.shift);
      const inside = s.run('LogicalAnd', { a: s.run('Greater', { a: z, b: vector(s, [0], []) }), b: s.run('LessEqual', { a: z, b: vector(s, [fused.hi], []) }) });
      maskedDy = { dy, g: s.run('Multiply', { a: rows(dy), b: s.run('Cast', { x: inside }, { dtype: 'float32' }) }) };
    }
    return maskedDy.g;
  };
  return {
    sums,
    centeredSquareSums: (x, mean) => sums(s.run('Square', { x: centered(x, mean) })),
    normalize(x, mean, scale, shift, hi) {
      const z = normalize(x, mean, scale, shift);
      return s.reshape(hi === undefined ? z : s.run('ClipByValue', { x: z }, { clipValueMin: 0, clipValueMax: hi }), x.shape);
    },
    gradSums(dy, x, mean, fused) {
      const g = grad(dy, x, mean, fused);
      return [sums(g), sums(s.run('Multiply', { a: g, b: centered(x, mean) }))];
    },
    gradInput(dy, x, mean, a, b, d, fused) {
      const both = s.run('Add', { a: s.run('Multiply', { a: grad(dy, x, mean, fused), b: a }), b: s.run('Multiply', { a: centered(x, mean), b }) });
      return s.reshape(s.run('Add', { a: both, b: d }), x.shape);
    },
  };
}

function stepsFor(s: KernelScope, d: Dims): Steps {
  return simdSteps(s, d) ?? composedSteps(s, d);
}

interface Attrs {
  epsilon: number;
  activation?: FusedActivation;
}

function clampHigh(activation: FusedActivation | undefined): number | undefined {
  return activation && activation !== 'none' ? CLAMP_HIGH[activation] : undefined;
}

/** [y, mean, variance, scale]: `scale` (γσ⁻¹ as used) is what the gradient kernel takes back for a fused activation. */
function batchNormTrainWasm(args: { inputs: Inputs; backend: BackendWasm; attrs: Attrs }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma?: TensorInfo; beta?: TensorInfo };
  checkFloat(BATCH_NORM_TRAIN, inputs);
  const d = dims(x);
  const s = new KernelScope(backend);
  try {
    const steps = stepsFor(s, d);
    const mean = overSamples(s, steps.sums(x), d.c).map((v) => v / d.m);
    const meanT = vector(s, mean);
    const variance = overSamples(s, steps.centeredSquareSums(x, meanT), d.c).map((v) => v / d.m);
    const g = gamma ? (backend.typedArrayFromHeap(gamma) as Float32Array) : undefined;
    const scale = new Float64Array(d.c);
    for (let ch = 0; ch < d.c; ch++) scale[ch] = (g ? g[ch] : 1) / Math.sqrt(variance[ch] + attrs.epsilon);
    const scaleT = vector(s, scale);
    const y = steps.normalize(x, meanT, scaleT, beta ?? vector(s, new Float32Array(d.c)), clampHigh(attrs.activation));
    return [s.keep(y), s.keep(meanT), s.keep(vector(s, variance)), s.keep(scaleT)];
  } finally {
    s.dispose();
  }
}

/** Inputs dy, x, mean, variance, gamma?; with a fused activation also the forward pass's scale, and beta? */
function batchNormTrainGradWasm(args: { inputs: Inputs; backend: BackendWasm; attrs: Attrs }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { dy, x, mean, variance, gamma, scale, beta } = inputs as { dy: TensorInfo; x: TensorInfo; mean: TensorInfo; variance: TensorInfo; gamma?: TensorInfo; scale?: TensorInfo; beta?: TensorInfo };
  checkFloat(BATCH_NORM_TRAIN_GRAD, inputs);
  const d = dims(x);
  const { c, m } = d;
  const s = new KernelScope(backend);
  try {
    const v = backend.typedArrayFromHeap(variance) as Float32Array;
    // Copied: the heap views would be detached by the allocations below when wasm memory grows.
    const g = gamma ? Float64Array.from(backend.typedArrayFromHeap(gamma) as Float32Array) : undefined;
    const inv = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) inv[ch] = 1 / Math.sqrt(v[ch] + attrs.epsilon);
    const steps = stepsFor(s, d);
    const hi = clampHigh(attrs.activation);
    if (hi !== undefined && !scale) throw new Error(`${BATCH_NORM_TRAIN_GRAD}: a fused ${attrs.activation} needs the forward pass's scale`);
    const fused = hi === undefined ? undefined : { scale: scale!, shift: beta ?? vector(s, new Float32Array(c)), hi };
    const [sumDy, sumDyXc] = steps.gradSums(dy, x, mean, fused);
    const dbeta = overSamples(s, sumDy, c);
    const dgamma = overSamples(s, sumDyXc, c).map((sum, ch) => sum * inv[ch]);
    const k = new Float64Array(c);
    const a = new Float64Array(c);
    const b = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      k[ch] = (g ? g[ch] : 1) * inv[ch];
      a[ch] = (-k[ch] * inv[ch] * dgamma[ch]) / m;
      b[ch] = (-k[ch] * dbeta[ch]) / m;
    }
    const dx = steps.gradInput(dy, x, mean, vector(s, k), vector(s, a), vector(s, b), fused);
    return [s.keep(dx), s.keep(vector(s, dgamma)), s.keep(vector(s, dbeta))];
  } finally {
    s.dispose();
  }
}

/** [N, C] float32: each sample's sum over its pixels, as the kernels above take it. */
function perSampleChannelSumsWasm(args: { inputs: Inputs; backend: BackendWasm }): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  checkFloat(PER_SAMPLE_CHANNEL_SUMS, args.inputs);
  const s = new KernelScope(args.backend);
  try {
    return s.keep(stepsFor(s, dims(x)).sums(x));
  } finally {
    s.dispose();
  }
}

/** [running mean, running variance] after a batch (ops/batchNorm.ts `runningStatistics`), in float64. */
function runningStatisticsWasm(args: { inputs: Inputs; backend: BackendWasm; attrs: { momentum: number; correction: number } }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  checkFloat(RUNNING_STATISTICS, inputs);
  const { momentum, correction } = attrs;
  const update = (running: TensorInfo, batch: TensorInfo, factor: number) => {
    const out = backend.makeOutput(running.shape, 'float32');
    // Views taken after the allocation, which may grow (and detach) the heap.
    const [o, r, b] = [out, running, batch].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
    for (let ch = 0; ch < o.length; ch++) o[ch] = (1 - momentum) * r[ch] + momentum * b[ch] * factor;
    return out;
  };
  const { runningMean, runningVar, mean, variance } = inputs as Record<string, TensorInfo>;
  return [update(runningMean, mean, 1), update(runningVar, variance, correction)];
}

export const runningStatisticsConfig: KernelConfig = {
  kernelName: RUNNING_STATISTICS,
  backendName: 'wasm',
  kernelFunc: runningStatisticsWasm as unknown as KernelFunc,
};

export const batchNormTrainConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN,
  backendName: 'wasm',
  kernelFunc: batchNormTrainWasm as unknown as KernelFunc,
};

export const batchNormTrainGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN_GRAD,
  backendName: 'wasm',
  kernelFunc: batchNormTrainGradWasm as unknown as KernelFunc,
};

export const perSampleChannelSumsConfig: KernelConfig = {
  kernelName: PER_SAMPLE_CHANNEL_SUMS,
  backendName: 'wasm',
  kernelFunc: perSampleChannelSumsWasm as unknown as KernelFunc,
};
