/**
 * Gradient averaging over the ranks: gradients copied into flat float32 buckets, each summed in
 * place with one MPI_Allreduce, divided by the world size and turned back into tensors. Every rank
 * walks the variables in the same (model) order, so the buckets line up.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { World } from './world';

/** Floats per bucket (16 MB): large enough for few calls, small enough not to double peak memory. */
export const BUCKET_FLOATS = 4 << 20;

export interface AllreduceTiming {
  seconds: number;
  floats: number;
}

/**
 * The mean over ranks of each gradient in `grads` (keyed by variable name, walked in the
 * variables' order). A gradient missing on a rank (an unused parameter) counts as zeros there; it
 * is in every rank's result when any rank had it (each bucket carries a presence count per
 * variable), so that all ranks update the same parameters, and missing from all when none had it.
 * Returns new tensors; the caller disposes the inputs.
 */
export async function averageGradients(world: World, grads: Record<string, tf.Tensor | null | undefined>, vars: tf.Variable[], timing?: AllreduceTiming): Promise<Record<string, tf.Tensor>> {
  // Sizes from the variables, not the gradients: a gradient missing on one rank only must not shift the buckets.
  const names = vars.map((v) => v.name);
  const sizes = vars.map((v) => v.size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const out: Record<string, tf.Tensor> = {};
  let i = 0;
  const t0 = performance.now();
  while (i < names.length) {
    // One bucket: whole gradients up to BUCKET_FLOATS (a larger single gradient gets its own).
    let j = i;
    let floats = 0;
    while (j < names.length && (j === i || floats + sizes[j] <= BUCKET_FLOATS)) floats += sizes[j++];
    // The gradients, then one presence flag per variable (summed: how many ranks had it).
    const bucket = new Float32Array(floats + (j - i));
    let at = 0;
    for (let k = i; k < j; k++) {
      const g = grads[names[k]];
      if (g) {
        bucket.set(g.dataSync() as Float32Array, at);
        bucket[floats + k - i] = 1;
      }
      at += sizes[k];
    }
    await world.allreduceSum(bucket);
    const inv = 1 / world.size;
    for (let k = 0; k < floats; k++) bucket[k] *= inv;
    at = 0;
    for (let k = i; k < j; k++) {
      if (bucket[floats + k - i] > 0) out[names[k]] = tf.tensor(bucket.subarray(at, at + sizes[k]), vars[k].shape, 'float32');
      at += sizes[k];
    }
    i = j;
  }
  if (timing) {
    timing.seconds += (performance.now() - t0) / 1000;
    timing.floats += total;
  }
  return out;
}
