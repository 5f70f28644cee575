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
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, PER_SAMPLE_CHANNEL_SUMS } from '../ops/batchNorm';
import { batchNormPasses, channelsFitPasses } from '../simd/batchNormPasses';
import { heapOffset } from '../simd/module';
import { KernelScope } from './kernelScope';

type Inputs = Record<string, TensorInfo | undefined>;

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

/** The five steps both kernels are made of; tensors in and out belong to the scope. */
interface Steps {
  /** [N, C]: Σ over each sample's pixels. */
  sums(t: TensorInfo): TensorInfo;
  /** [N, C]: Σ (x − mean)² over each sample's pixels. */
  centeredSquareSums(x: TensorInfo, mean: TensorInfo): TensorInfo;
  /** (x − mean)·scale + shift, shaped as x. */
  normalize(x: TensorInfo, mean: TensorInfo, scale: TensorInfo, shift: TensorInfo | undefined): TensorInfo;
  /** [N, C] each: Σ dy and Σ dy·(x − mean) over each sample's pixels. */
  gradSums(dy: TensorInfo, x: TensorInfo, mean: TensorInfo): [TensorInfo, TensorInfo];
  /** (dy·a + (x − mean)·b) + d, shaped as x. */
  gradInput(dy: TensorInfo, x: TensorInfo, mean: TensorInfo, a: TensorInfo, b: TensorInfo, d: TensorInfo): TensorInfo;
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
    normalize(x, mean, scale, shift) {
      const y = output(x.shape);
      passes.normalize(at(x), at(mean), at(scale), at(shift ?? vector(s, new Float32Array(c))), m, c, at(y));
      return y;
    },
    gradSums(dy, x, mean) {
      const [sumDy, sumDyXc] = [output([n, c]), output([n, c])];
      passes.grad_sums(at(dy), at(x), at(mean), n, k, c, at(sumDy), at(sumDyXc));
      return [sumDy, sumDyXc];
    },
    gradInput(dy, x, mean, a, b, d) {
      const dx = output(x.shape);
      passes.grad_input(at(dy), at(x), at(mean), at(a), at(b), at(d), m, c, at(dx));
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
  return {
    sums,
    centeredSquareSums: (x, mean) => sums(s.run('Square', { x: centered(x, mean) })),
    normalize(x, mean, scale, shift) {
      const scaled = s.run('Multiply', { a: centered(x, mean), b: scale });
      return s.reshape(shift ? s.run('Add', { a: scaled, b: shift }) : scaled, x.shape);
    },
    gradSums: (dy, x, mean) => [sums(dy), sums(s.run('Multiply', { a: rows(dy), b: centered(x, mean) }))],
    gradInput(dy, x, mean, a, b, d) {
      const both = s.run('Add', { a: s.run('Multiply', { a: rows(dy), b: a }), b: s.run('Multiply', { a: centered(x, mean), b }) });
      return s.reshape(s.run('Add', { a: both, b: d }), x.shape);
    },
  };
}

function stepsFor(s: KernelScope, d: Dims): Steps {
  return simdSteps(s, d) ?? composedSteps(s, d);
}

function batchNormTrainWasm(args: { inputs: Inputs; backend: BackendWasm; attrs: { epsilon: number } }): TensorInfo[] {
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
    const y = steps.normalize(x, meanT, vector(s, scale), beta);
    return [s.keep(y), s.keep(meanT), s.keep(vector(s, variance))];
  } finally {
    s.dispose();
  }
}

function batchNormTrainGradWasm(args: { inputs: Inputs; backend: BackendWasm; attrs: { epsilon: number } }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { dy, x, mean, variance, gamma } = inputs as { dy: TensorInfo; x: TensorInfo; mean: TensorInfo; variance: TensorInfo; gamma?: TensorInfo };
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
    const [sumDy, sumDyXc] = steps.gradSums(dy, x, mean);
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
    const dx = steps.gradInput(dy, x, mean, vector(s, k), vector(s, a), vector(s, b));
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
