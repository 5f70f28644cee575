/**
 * The kernels behind `batchNormTrain` (ops/batchNorm.ts) on the wasm backend: the forward pass
 * (statistics and output, three streaming passes) and the closed-form gradient (two passes), as
 * plain loops over the wasm heap. They are memory-bound; a loop over contiguous channels-last rows
 * runs at memory speed in V8, and per-channel sums accumulate in float64.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../ops/batchNorm';

type Inputs = Record<string, TensorInfo | undefined>;

function checkFloat(kernel: string, inputs: Inputs): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t && t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
  }
}

function batchNormTrainWasm(args: { inputs: Inputs; backend: BackendWasm; attrs: { epsilon: number } }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma?: TensorInfo; beta?: TensorInfo };
  checkFloat(BATCH_NORM_TRAIN, inputs);
  const c = x.shape[x.shape.length - 1];
  const m = x.shape.reduce((a, b) => a * b, 1) / c;
  const y = backend.makeOutput(x.shape, 'float32');
  const meanOut = backend.makeOutput([c], 'float32');
  const varOut = backend.makeOutput([c], 'float32');
  // Views after the allocations (growing wasm memory detaches older ones).
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const ys = backend.typedArrayFromHeap(y) as Float32Array;
  const g = gamma ? (backend.typedArrayFromHeap(gamma) as Float32Array) : undefined;
  const b = beta ? (backend.typedArrayFromHeap(beta) as Float32Array) : undefined;

  const sum = new Float64Array(c);
  for (let row = 0, i = 0; row < m; row++) for (let ch = 0; ch < c; ch++, i++) sum[ch] += xs[i];
  const mean = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) mean[ch] = sum[ch] / m;
  const sq = new Float64Array(c);
  for (let row = 0, i = 0; row < m; row++)
    for (let ch = 0; ch < c; ch++, i++) {
      const d = xs[i] - mean[ch];
      sq[ch] += d * d;
    }
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  const meanView = backend.typedArrayFromHeap(meanOut) as Float32Array;
  const varView = backend.typedArrayFromHeap(varOut) as Float32Array;
  for (let ch = 0; ch < c; ch++) {
    const variance = sq[ch] / m;
    const s = (g ? g[ch] : 1) / Math.sqrt(variance + attrs.epsilon);
    scale[ch] = s;
    shift[ch] = (b ? b[ch] : 0) - mean[ch] * s;
    meanView[ch] = mean[ch];
    varView[ch] = variance;
  }
  for (let row = 0, i = 0; row < m; row++) for (let ch = 0; ch < c; ch++, i++) ys[i] = xs[i] * scale[ch] + shift[ch];
  return [y, meanOut, varOut];
}

function batchNormTrainGradWasm(args: { inputs: Inputs; backend: BackendWasm; attrs: { epsilon: number } }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { dy, x, mean, variance, gamma } = inputs as { dy: TensorInfo; x: TensorInfo; mean: TensorInfo; variance: TensorInfo; gamma?: TensorInfo };
  checkFloat(BATCH_NORM_TRAIN_GRAD, inputs);
  const c = x.shape[x.shape.length - 1];
  const m = x.shape.reduce((a, b) => a * b, 1) / c;
  const dx = backend.makeOutput(x.shape, 'float32');
  const dgammaOut = backend.makeOutput([c], 'float32');
  const dbetaOut = backend.makeOutput([c], 'float32');
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const dxs = backend.typedArrayFromHeap(dx) as Float32Array;
  const mu = backend.typedArrayFromHeap(mean) as Float32Array;
  const v = backend.typedArrayFromHeap(variance) as Float32Array;
  const g = gamma ? (backend.typedArrayFromHeap(gamma) as Float32Array) : undefined;

  const inv = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) inv[ch] = 1 / Math.sqrt(v[ch] + attrs.epsilon);
  // ∂β = Σ dy and Σ dy·(x − μ) (∂γ = σ⁻¹ times it), in one pass.
  const dbeta = new Float64Array(c);
  const dyxc = new Float64Array(c);
  for (let row = 0, i = 0; row < m; row++)
    for (let ch = 0; ch < c; ch++, i++) {
      const d = dys[i];
      dbeta[ch] += d;
      dyxc[ch] += d * (xs[i] - mu[ch]);
    }
  // ∂x = k·dy + a·(x − μ) + b, per channel: k = γσ⁻¹, a = −k·σ⁻¹·∂γ/M, b = −k·∂β/M.
  const k = new Float32Array(c);
  const a = new Float32Array(c);
  const b = new Float32Array(c);
  const dgView = backend.typedArrayFromHeap(dgammaOut) as Float32Array;
  const dbView = backend.typedArrayFromHeap(dbetaOut) as Float32Array;
  for (let ch = 0; ch < c; ch++) {
    const dgamma = dyxc[ch] * inv[ch];
    const kk = (g ? g[ch] : 1) * inv[ch];
    const aa = (-kk * inv[ch] * dgamma) / m;
    k[ch] = kk;
    a[ch] = aa;
    b[ch] = (-kk * dbeta[ch]) / m;
    dgView[ch] = dgamma;
    dbView[ch] = dbeta[ch];
  }
  for (let row = 0, i = 0; row < m; row++) for (let ch = 0; ch < c; ch++, i++) dxs[i] = k[ch] * dys[i] + a[ch] * (xs[i] - mu[ch]) + b[ch];
  return [dx, dgammaOut, dbetaOut];
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
