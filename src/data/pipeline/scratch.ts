/**
 * Reusable intermediate buffers for the resampling and blur passes. Pipelines run synchronously
 * and each worker thread has its own copy of this module, so one buffer per purpose suffices; it
 * saves allocating (and collecting) several hundred kilobytes per view.
 */

const buffers = new Map<string, Float32Array>();

/** A Float32Array of exactly `n` values, backed by the buffer kept for `purpose` (contents undefined). */
export function scratch(purpose: string, n: number): Float32Array {
  let b = buffers.get(purpose);
  if (!b || b.length < n) {
    b = new Float32Array(Math.max(n, Math.ceil((b?.length ?? 0) * 1.5)));
    buffers.set(purpose, b);
  }
  return b.subarray(0, n);
}
