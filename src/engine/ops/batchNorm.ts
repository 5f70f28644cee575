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
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './backendKernel';

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
  /** The normalised, scaled and shifted input. */
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

function forward(x: tf.Tensor, gamma: tf.Tensor1D | undefined, beta: tf.Tensor1D | undefined, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  if (hasKernel(BATCH_NORM_TRAIN)) {
    const inputs: tf.NamedTensorMap = { x };
    if (gamma) inputs.gamma = gamma;
    if (beta) inputs.beta = beta;
    return tf.engine().runKernel(BATCH_NORM_TRAIN, inputs, { epsilon }) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
  }
  return forwardComposed(x, gamma, beta, epsilon);
}

function gradient(dy: tf.Tensor, x: tf.Tensor, mean: tf.Tensor1D, variance: tf.Tensor1D, gamma: tf.Tensor1D | undefined, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  if (hasKernel(BATCH_NORM_TRAIN_GRAD)) {
    const inputs: tf.NamedTensorMap = { dy, x, mean, variance };
    if (gamma) inputs.gamma = gamma;
    return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, inputs, { epsilon }) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
  }
  return gradComposed(dy, x, mean, variance, gamma, epsilon);
}

/**
 * Normalise `x` (channels last) with its own batch statistics. `y` is differentiable with respect
 * to x, gamma and beta through the closed form above; `mean` and `variance` are returned for the
 * running statistics (they are ordinary tensors: differentiable too, if a loss ever uses them).
 * `gamma`/`beta` may be left out (a non-affine normalisation).
 */
export function batchNormTrain<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D | undefined, beta: tf.Tensor1D | undefined, epsilon: number): BatchNormTrainResult<T> {
  const channels = x.shape[x.rank - 1];
  if (x.rank < 2) throw new Error(`batchNormTrain: x must have rank >= 2 (channels last), got shape [${x.shape}]`);
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== channels)) throw new Error(`batchNormTrain: ${name} must have shape [${channels}], got [${t.shape}]`);
  }
  if (!(epsilon > 0)) throw new Error(`batchNormTrain: epsilon must be > 0, got ${epsilon}`);

  // Statistics and output in one pass of the kernel, outside the custom gradient: the mean and
  // variance reach the caller as ordinary tensors, and y's gradient (below) already accounts for
  // its dependence on them, so nothing flows twice.
  const [yRaw, mean, variance] = forward(x, gamma, beta, epsilon);
  const params = [gamma, beta].filter((t): t is tf.Tensor1D => t !== undefined);
  const normalise = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor;
    save([input, mean, variance, ...(gamma ? [gamma] : [])]);
    return {
      value: alias(yRaw),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, m, v, g] = saved;
          const [dx, dgamma, dbeta] = gradient(dy as tf.Tensor, xs, m as tf.Tensor1D, v as tf.Tensor1D, g as tf.Tensor1D | undefined, epsilon);
          return [dx, ...(gamma ? [dgamma] : []), ...(beta ? [dbeta] : [])];
        }),
    };
  });
  const y = normalise(x, ...params) as T;
  yRaw.dispose();
  return { y, mean, variance };
}
