/**
 * Reading tensors back on engines without synchronous reads. tfjs' WebGPU backend reads GPU
 * buffers with mapAsync; its `dataSync` goes through OffscreenCanvas, which Node lacks. An
 * asynchronous read caches the values on the CPU, after which `dataSync` on that tensor works:
 * code that must stay synchronous (checkpoint writing) awaits `cacheOnCpu` first.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Does the current backend lack synchronous reads of device-resident tensors? */
export function syncReadsUnsupported(): boolean {
  return tf.getBackend() === 'webgpu';
}

/** Make `dataSync` work on these tensors (a no-op where it always does). */
export async function cacheOnCpu(tensors: Iterable<tf.Tensor>): Promise<void> {
  if (!syncReadsUnsupported()) return;
  await Promise.all([...tensors].map((t) => t.data()));
}
