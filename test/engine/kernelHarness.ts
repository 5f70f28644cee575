/**
 * Running one kernel on several backends with the same inputs, and comparing the results.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../../src/core/random';

export interface InputSpec {
  shape: number[];
  dtype?: 'float32' | 'int32';
  /** Values; random normal (seeded) when left out. */
  values?: ArrayLike<number>;
}

export interface KernelResult {
  shape: number[];
  values: Float32Array;
}

export function randomValues(shape: number[], seed: number, dtype: 'float32' | 'int32' = 'float32'): Float32Array | Int32Array {
  const rng = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'int32') return Int32Array.from({ length: n }, () => rng.int(7) - 3);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Run `kernelName` on `backend` with fresh tensors; leaves no tensor behind. */
export async function runKernelOn(backend: string, kernelName: string, inputs: Record<string, InputSpec>, attrs: Record<string, unknown>, seed = 1): Promise<KernelResult> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const result = tf.tidy(() => {
    const named: Record<string, tf.Tensor> = {};
    let s = seed;
    for (const [name, spec] of Object.entries(inputs)) {
      const values = spec.values ?? randomValues(spec.shape, s++, spec.dtype);
      named[name] = tf.tensor(values as Float32Array, spec.shape, spec.dtype ?? 'float32');
    }
    const out = tf.engine().runKernel(kernelName, named, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { shape: out.shape.slice(), values: Float32Array.from(out.dataSync()) };
  });
  if (tf.memory().numTensors !== before) throw new Error(`${kernelName} on ${backend} leaked ${tf.memory().numTensors - before} tensors`);
  return result;
}

/** Largest |a-b|, and the largest |b|, to state tolerances relative to the reference's scale. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}
