import type * as tf from '@tensorflow/tfjs-core';

/**
 * A number that differs, with near certainty, between two sets of tensors that differ: each value
 * weighted by a position-dependent factor, summed in float64 and folded to float32 (for one
 * allreduce slot). Bitwise-equal tensors give bitwise-equal fingerprints.
 */
export function stateFingerprint(state: Map<string, tf.Tensor>): number {
  let h = 0;
  let t = 0;
  for (const v of state.values()) {
    const data = v.dataSync();
    let s = 0;
    for (let i = 0; i < data.length; i++) s += Number(data[i]) * (1 + ((i * 2654435761) % 1013) / 1013);
    h += s * (1 + (++t % 97) / 97);
  }
  return Math.fround(h);
}
