/**
 * What a model's step computes over every rank of a data-parallel run, as the reference
 * implementations do with torch.distributed: MoCo's and MoBY's queues take the keys of every rank
 * (`concat_all_gather` before `_dequeue_and_enqueue`), DINO's centre the mean of every rank's
 * teacher outputs (`all_reduce` in `update_center`), so that queues and centres stay identical on
 * every rank and N ranks x batch B train as one process x batch N·B. The runner installs a blocking
 * sum over the ranks; in a single process both are the local computation.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface Ranks {
  rank: number;
  size: number;
  /** Sum `data` over all ranks, in place, blocking. */
  sum(data: Float32Array): void;
}

let ranks: Ranks | undefined;

/** Set by the runner of a data-parallel run (unset: one process). */
export function setRanks(r: Ranks | undefined): void {
  ranks = r;
}

/** Rows `[n, d]` of every rank, concatenated in rank order (every rank gets the same result). */
export function gatherRows(x: tf.Tensor2D): tf.Tensor2D {
  const r = ranks;
  if (!r) return x;
  const [n, d] = x.shape;
  const counts = new Float32Array(r.size);
  counts[r.rank] = n;
  r.sum(counts);
  const offset = counts.subarray(0, r.rank).reduce((a, b) => a + b, 0);
  const total = counts.reduce((a, b) => a + b, 0);
  // Each rank fills its own rows of a zero buffer: the sum is the concatenation, exactly.
  const all = new Float32Array(total * d);
  all.set(x.dataSync(), offset * d);
  r.sum(all);
  return tf.tensor2d(all, [total, d]);
}

/** The mean of the rows `[n, d]` of every rank, `[1, d]`. */
export function meanRows(x: tf.Tensor2D): tf.Tensor2D {
  const r = ranks;
  if (!r) return tf.mean(x, 0, true) as tf.Tensor2D;
  const [n, d] = x.shape;
  const sums = new Float32Array(d + 1);
  sums.set(tf.tidy(() => tf.sum(x, 0).dataSync() as Float32Array));
  sums[d] = n;
  r.sum(sums);
  return tf.div(tf.tensor2d(sums.subarray(0, d), [1, d]), sums[d]) as tf.Tensor2D;
}
