/**
 * The hand-written WebAssembly SIMD modules of this folder (`*.wat`, assembled into `*Binary.ts` by
 * scripts/build-simd.mjs) run on the memory of the TensorFlow.js wasm backend: each imports it as
 * `env.memory` and reads and writes the backend's tensors in place, by byte offset.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const instances = new WeakMap<BackendWasm, Map<string, unknown>>();

/**
 * The exports of the module `binary` (base64) instantiated on this backend's memory, once per
 * backend; undefined where the backend's module does not export its memory (tfjs-backend-wasm's
 * single-threaded build does, as `asm.memory`).
 */
export function onBackendMemory<T>(backend: BackendWasm, binary: string): T | undefined {
  let modules = instances.get(backend);
  if (!modules) instances.set(backend, (modules = new Map()));
  if (!modules.has(binary)) {
    const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
    modules.set(binary, memory instanceof WebAssembly.Memory ? new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(binary, 'base64')), { env: { memory } }).exports : undefined);
  }
  return modules.get(binary) as T | undefined;
}

/** Where a tensor's data starts in the backend's memory. */
export function heapOffset(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}
