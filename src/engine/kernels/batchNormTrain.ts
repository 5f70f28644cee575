/**
 * The kernels behind `batchNormTrain` (ops/batchNorm.ts) on the wasm backend, composed from the
 * backend's own SIMD kernels: per-channel sums are one batched matrix-vector product per sample
 * (ones[N,1,K] · x[N,K,C], K = M/N, no transpose; BatchMatMul, which is onnxruntime's
 * multi-threaded GEMM on wasm-ort) added up over the samples in float64: a sample's float32 sum is
 * the same whichever batch holds it, so SyncBatchNorm (src/distributed/syncBatchNorm.ts, which sums
 * the same way) gets one process's statistics from the ranks' halves of its batch. Full-size
 * passes are the SIMD Sub / Multiply / Add / Square kernels. Per-channel vectors ([C]) are worked
 * out in JavaScript in float64. (Plain JavaScript loops over the activations, and the backend's
 * scalar FusedBatchNorm, measured several times slower than these passes.)
 *
 * Forward: 2 reductions + 4 passes. Backward: 2 reductions + 7 passes.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../ops/batchNorm';
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

/** Σ over rows of t viewed as [M, C]: per sample in float32 (`ones` is [N, 1, M/N]), then over the samples in float64. */
function channelSums(s: KernelScope, t: TensorInfo, ones: TensorInfo, m: number, c: number): Float64Array {
  const n = ones.shape[0];
  const sums = s.run('BatchMatMul', { a: ones, b: s.reshape(t, [n, m / n, c]) }, { transposeA: false, transposeB: false });
  const perSample = s.backend.typedArrayFromHeap(sums) as Float32Array;
  const out = new Float64Array(c);
  for (let i = 0; i < perSample.length; i++) out[i % c] += perSample[i];
  return out;
}

function dims(x: TensorInfo): { m: number; c: number; n: number } {
  const c = x.shape[x.shape.length - 1];
  return { m: x.shape.reduce((a, b) => a * b, 1) / c, c, n: x.shape[0] };
}

/** The ones of channelSums' products. */
function sampleOnes(s: KernelScope, n: number, m: number): TensorInfo {
  return vector(s, new Float32Array(m).fill(1), [n, 1, m / n]);
}

function batchNormTrainWasm(args: { inputs: Inputs; backend: BackendWasm; attrs: { epsilon: number } }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma?: TensorInfo; beta?: TensorInfo };
  checkFloat(BATCH_NORM_TRAIN, inputs);
  const { m, c, n } = dims(x);
  const s = new KernelScope(backend);
  try {
    const ones = sampleOnes(s, n, m);
    const sum = channelSums(s, x, ones, m, c);
    const mean = sum.map((v) => v / m);
    const meanT = vector(s, mean);
    const centered = s.run('Sub', { a: s.reshape(x, [m, c]), b: meanT });
    const squares = s.run('Square', { x: centered });
    const variance = channelSums(s, squares, ones, m, c).map((v) => v / m);
    const varianceT = vector(s, variance);
    // y = (x − μ)·(γσ⁻¹) + β, from the centred values already at hand. (The backend's
    // FusedBatchNorm does this in one pass, but as a scalar loop: slower than these two SIMD ones.)
    const g = gamma ? (backend.typedArrayFromHeap(gamma) as Float32Array) : undefined;
    const scale = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) scale[ch] = (g ? g[ch] : 1) / Math.sqrt(variance[ch] + attrs.epsilon);
    const scaled = s.run('Multiply', { a: centered, b: vector(s, scale) });
    const y = s.reshape(beta ? s.run('Add', { a: scaled, b: beta }) : scaled, x.shape);
    return [s.keep(y), s.keep(meanT), s.keep(varianceT)];
  } finally {
    s.dispose();
  }
}

function batchNormTrainGradWasm(args: { inputs: Inputs; backend: BackendWasm; attrs: { epsilon: number } }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { dy, x, mean, variance, gamma } = inputs as { dy: TensorInfo; x: TensorInfo; mean: TensorInfo; variance: TensorInfo; gamma?: TensorInfo };
  checkFloat(BATCH_NORM_TRAIN_GRAD, inputs);
  const { m, c, n } = dims(x);
  const s = new KernelScope(backend);
  try {
    const ones = sampleOnes(s, n, m);
    const dbeta = channelSums(s, dy, ones, m, c);
    const v = backend.typedArrayFromHeap(variance) as Float32Array;
    // Copied: the heap views would be detached by the allocations below when wasm memory grows.
    const g = gamma ? Float64Array.from(backend.typedArrayFromHeap(gamma) as Float32Array) : undefined;
    const inv = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) inv[ch] = 1 / Math.sqrt(v[ch] + attrs.epsilon);
    const xhat = s.run('Multiply', { a: s.run('Sub', { a: s.reshape(x, [m, c]), b: mean }), b: vector(s, inv) });
    const dgamma = channelSums(s, s.run('Multiply', { a: s.reshape(dy, [m, c]), b: xhat }), ones, m, c);
    // ∂x = k·dy + a·x̂ + b per channel: k = γσ⁻¹, a = −k·∂γ/M, b = −k·∂β/M.
    const k = new Float64Array(c);
    const a = new Float64Array(c);
    const b = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      k[ch] = (g ? g[ch] : 1) * inv[ch];
      a[ch] = (-k[ch] * dgamma[ch]) / m;
      b[ch] = (-k[ch] * dbeta[ch]) / m;
    }
    const fromDy = s.run('Add', { a: s.run('Multiply', { a: s.reshape(dy, [m, c]), b: vector(s, k) }), b: vector(s, b) });
    const dx = s.reshape(s.run('Add', { a: fromDy, b: s.run('Multiply', { a: xhat, b: vector(s, a) }) }), x.shape);
    return [s.keep(dx), s.keep(vector(s, dgamma)), s.keep(vector(s, dbeta))];
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
