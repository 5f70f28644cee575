/**
 * Batch normalisation in training mode with its closed-form gradient (Ioffe & Szegedy, Batch
 * Normalization, ICML 2015, arXiv:1502.03167, §3), for channels-last tensors ([N,H,W,C] or [N,C]).
 *
 * TensorFlow.js differentiates `(x - mean) * rsqrt(var + eps) * gamma + beta` op by op: the
 * gradients of `mean` and `var` broadcast back through Tile and full-size Sums, and that dominates
 * a ResNet training step (ARCHITECTURE.md, "Engine"). The closed form needs two per-channel
 * reductions and a few multiplies: with x̂ = (x − μ)·σ⁻¹, σ = √(var + ε), M = N·H·W,
 *
 *   ∂β = Σ dy,   ∂γ = Σ dy·x̂,   ∂x = γσ⁻¹ · (dy − ∂β/M − x̂·∂γ/M).
 *
 * Backends with the `CvwBatchNormTrain` / `CvwBatchNormTrainGrad` kernels (the wasm backend, see
 * kernels/batchNormTrain.ts) run each direction as one kernel; others compose the same formulas
 * from tf ops.
 *
 * A ReLU or ReLU6 that follows (conv-bn-act, ResNet's first unit of a block) can be fused: the
 * kernels clamp as they write y and mask dy as they read it, so the activation costs no sweep of
 * its own and its input is never stored; elsewhere it is the plain tf op after the normalisation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './backendKernel';

/** An activation that may follow the normalisation inside `batchNormTrain`. */
export type FusedActivation = 'none' | 'relu' | 'relu6';

export const BATCH_NORM_TRAIN = 'CvwBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'CvwBatchNormTrainGrad';
export const PER_SAMPLE_CHANNEL_SUMS = 'CvwPerSampleChannelSums';

/**
 * Per-channel sums of `t` ([N, ..., C]): each sample's in float32, added up in float64, so a
 * sample contributes the same whichever batch (or rank, src/distributed/syncBatchNorm.ts) holds
 * it. On the wasm backend they are the sums its batch-norm kernels take (`CvwPerSampleChannelSums`);
 * elsewhere one batched product with ones.
 */
export function perSampleChannelSums(t: tf.Tensor): Float64Array {
  const c = t.shape[t.rank - 1];
  const n = t.shape[0];
  const k = t.size / c / n;
  const partial = tf.tidy(() =>
    hasKernel(PER_SAMPLE_CHANNEL_SUMS) ? (tf.engine().runKernel(PER_SAMPLE_CHANNEL_SUMS, { x: t }) as tf.Tensor) : tf.matMul(tf.ones([n, 1, k]), tf.reshape(t, [n, k, c])),
  );
  const values = partial.dataSync() as Float32Array;
  partial.dispose();
  const out = new Float64Array(c);
  for (let i = 0; i < values.length; i++) out[i % c] += values[i];
  return out;
}

export interface BatchNormTrainResult<T extends tf.Tensor> {
  /** The normalised, scaled and shifted input (activated, with an activation). */
  y: T;
  /** Per-channel batch mean [C]. */
  mean: tf.Tensor1D;
  /** Per-channel biased batch variance [C] (divided by M, as the normalisation uses). */
  variance: tf.Tensor1D;
}

interface EngineInternals {
  makeTensorFromDataId(dataId: object, shape: number[], dtype: tf.DataType): tf.Tensor;
  state: { tensorInfo: WeakMap<object, { backend: { incRef(dataId: object): void } }> };
}

/**
 * A second tensor over the same data (reference-counted, no copy): the custom gradient's value
 * must be a tensor of its own, and tf.clone copies on the wasm backend (its Identity kernel does).
 * Relies on tfjs-core 4.22 engine internals, checked by test/engine/batchNorm.test.ts.
 */
function alias<T extends tf.Tensor>(t: T): T {
  const engine = tf.engine() as unknown as EngineInternals;
  const out = engine.makeTensorFromDataId(t.dataId, t.shape, t.dtype);
  engine.state.tensorInfo.get(t.dataId)!.backend.incRef(t.dataId);
  return out as T;
}

/** Σ over every axis but the last, as [C]. */
function channelSums(t: tf.Tensor): tf.Tensor1D {
  const c = t.shape[t.rank - 1];
  return tf.sum(tf.reshape(t, [-1, c]), 0) as tf.Tensor1D;
}

function forwardComposed(x: tf.Tensor, gamma: tf.Tensor1D | undefined, beta: tf.Tensor1D | undefined, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  return tf.tidy(() => {
    const m = x.size / x.shape[x.rank - 1];
    const mean = tf.div(channelSums(x), m) as tf.Tensor1D;
    const centered = tf.sub(x, mean);
    const variance = tf.div(channelSums(tf.square(centered)), m) as tf.Tensor1D;
    let scale: tf.Tensor = tf.rsqrt(tf.add(variance, epsilon));
    if (gamma) scale = tf.mul(scale, gamma);
    let y = tf.mul(centered, scale);
    if (beta) y = tf.add(y, beta);
    return [y, mean, variance];
  });
}

function gradComposed(dy: tf.Tensor, x: tf.Tensor, mean: tf.Tensor1D, variance: tf.Tensor1D, gamma: tf.Tensor1D | undefined, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  return tf.tidy(() => {
    const m = x.size / x.shape[x.rank - 1];
    const inv = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(tf.sub(x, mean), inv);
    const dbeta = channelSums(dy);
    const dgamma = channelSums(tf.mul(dy, xhat));
    const k = gamma ? tf.mul(gamma, inv) : inv;
    // dx = k·(dy − ∂β/M) − x̂·(k·∂γ/M)
    const dx = tf.sub(tf.mul(tf.sub(dy, tf.div(dbeta, m)), k), tf.mul(xhat, tf.div(tf.mul(k, dgamma), m)));
    return [dx, dgamma, dbeta];
  });
}

/** [y, mean, variance, scale]: scale (γσ⁻¹ as the kernel used it) only from the kernel. */
function forward(x: tf.Tensor, gamma: tf.Tensor1D | undefined, beta: tf.Tensor1D | undefined, epsilon: number, activation: FusedActivation): [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D?] {
  if (hasKernel(BATCH_NORM_TRAIN)) {
    const inputs: tf.NamedTensorMap = { x };
    if (gamma) inputs.gamma = gamma;
    if (beta) inputs.beta = beta;
    return tf.engine().runKernel(BATCH_NORM_TRAIN, inputs, { epsilon, activation }) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  }
  return forwardComposed(x, gamma, beta, epsilon);
}

/** Saved by the forward pass for the gradient kernel. */
interface Saved {
  x: tf.Tensor;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  gamma?: tf.Tensor1D;
  /** With a fused activation: the forward pass's scale and β. */
  scale?: tf.Tensor1D;
  beta?: tf.Tensor1D;
}

function gradient(dy: tf.Tensor, saved: Saved, epsilon: number, activation: FusedActivation): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const { x, mean, variance, gamma } = saved;
  if (hasKernel(BATCH_NORM_TRAIN_GRAD)) {
    const inputs: tf.NamedTensorMap = { dy, x, mean, variance };
    for (const key of ['gamma', 'scale', 'beta'] as const) if (saved[key]) inputs[key] = saved[key];
    return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, inputs, { epsilon, activation }) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
  }
  return gradComposed(dy, x, mean, variance, gamma, epsilon);
}

/**
 * Normalise `x` (channels last) with its own batch statistics, then apply `activation`. `y` is
 * differentiable with respect to x, gamma and beta through the closed form above; `mean` and
 * `variance` are returned for the running statistics (they are ordinary tensors: differentiable
 * too, if a loss ever uses them). `gamma`/`beta` may be left out (a non-affine normalisation).
 */
export function batchNormTrain<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D | undefined, beta: tf.Tensor1D | undefined, epsilon: number, activation: FusedActivation = 'none'): BatchNormTrainResult<T> {
  const channels = x.shape[x.rank - 1];
  if (x.rank < 2) throw new Error(`batchNormTrain: x must have rank >= 2 (channels last), got shape [${x.shape}]`);
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== channels)) throw new Error(`batchNormTrain: ${name} must have shape [${channels}], got [${t.shape}]`);
  }
  if (!(epsilon > 0)) throw new Error(`batchNormTrain: epsilon must be > 0, got ${epsilon}`);
  const fused = activation !== 'none' && hasKernel(BATCH_NORM_TRAIN);
  const inKernel = fused ? activation : 'none';

  // Statistics and output in one pass of the kernel, outside the custom gradient: the mean and
  // variance reach the caller as ordinary tensors, and y's gradient (below) already accounts for
  // its dependence on them, so nothing flows twice.
  const [yRaw, mean, variance, scale] = forward(x, gamma, beta, epsilon, inKernel);
  const params = [gamma, beta].filter((t): t is tf.Tensor1D => t !== undefined);
  const normalise = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor;
    const optional = { gamma, scale: fused ? scale : undefined, beta: fused ? beta : undefined };
    const keys = (Object.keys(optional) as Array<keyof typeof optional>).filter((k) => optional[k]);
    save([input, mean, variance, ...keys.map((k) => optional[k]!)]);
    return {
      value: alias(yRaw),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], savedTensors: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, m, v, ...rest] = savedTensors;
          const saved: Saved = { x: xs, mean: m as tf.Tensor1D, variance: v as tf.Tensor1D, ...Object.fromEntries(keys.map((k, i) => [k, rest[i]])) };
          const [dx, dgamma, dbeta] = gradient(dy as tf.Tensor, saved, epsilon, inKernel);
          return [dx, ...(gamma ? [dgamma] : []), ...(beta ? [dbeta] : [])];
        }),
    };
  });
  const normalised = normalise(x, ...params) as T;
  yRaw.dispose();
  if (!fused) scale?.dispose();
  if (fused || activation === 'none') return { y: normalised, mean, variance };
  return { y: (activation === 'relu' ? tf.relu(normalised) : tf.relu6(normalised)) as T, mean, variance };
}

export const RUNNING_STATISTICS = 'CvwRunningStatistics';

/**
 * PyTorch's running statistics after a training batch: r ← (1 − m)·r + m·b for the mean and for the
 * unbiased variance (b·count/(count − 1)). Two [C] tensors, which the layer assigns; one kernel
 * where the backend has it (the wasm backend: a loop in float64, as PyTorch's CPU kernel
 * accumulates), seven tiny ops elsewhere: a ResNet-18 or MobileNetV2 step has 20 to 52 of these,
 * and each op costs more in dispatch than in arithmetic.
 */
export function runningStatistics(runningMean: tf.Tensor, runningVar: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, momentum: number, count: number): [tf.Tensor1D, tf.Tensor1D] {
  const correction = count / Math.max(1, count - 1);
  if (hasKernel(RUNNING_STATISTICS)) {
    return tf.engine().runKernel(RUNNING_STATISTICS, { runningMean, runningVar, mean, variance }, { momentum, correction }) as [tf.Tensor1D, tf.Tensor1D];
  }
  return tf.tidy(() => [
    tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(mean, momentum)) as tf.Tensor1D,
    tf.add(tf.mul(runningVar, 1 - momentum), tf.mul(tf.mul(variance, correction), momentum)) as tf.Tensor1D,
  ]);
}
