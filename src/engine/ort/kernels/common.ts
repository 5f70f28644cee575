/**
 * Plumbing shared by the onnxruntime-backed kernels of the wasm backend: binding wasm-heap tensors
 * to ORT without copies, and handing inputs a kernel does not cover to the kernel it replaced.
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { kernelBelow } from '../../kernels/install';
import { rejectOrtOp, type BindingTensor, type OrtOp } from '../session';

/** A view of a wasm tensor's memory, as ORT reads or writes it (no copy). Take it after every allocation. */
export function heapTensor(backend: BackendWasm, info: TensorInfo, dims: readonly number[] = info.shape): BindingTensor {
  const data = backend.typedArrayFromHeap(info);
  if (info.dtype === 'float32') return { type: 'float32', data: data as Float32Array, dims, location: 'cpu' };
  if (info.dtype === 'int32') return { type: 'int32', data: data as Int32Array, dims, location: 'cpu' };
  throw new Error(`onnxruntime kernels take float32 and int32 tensors, not ${info.dtype}`);
}

/** Why a kernel hands an input to the kernel below it (counted, for the profile and the tests). */
export const fallbackCounts = new Map<string, number>();

/**
 * A kernel that runs `fast` when it returns a result, and otherwise (it returned undefined: a case
 * it does not cover) the kernel registered before it.
 */
export function withFallback(
  kernelName: string,
  fast: (args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: NamedAttrMap }) => TensorInfo | undefined,
): KernelConfig {
  const config: KernelConfig = {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ((args: { inputs: NamedTensorInfoMap; backend: BackendWasm; attrs: NamedAttrMap }) => {
      const out = fast(args as { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: NamedAttrMap });
      if (out) return out;
      fallbackCounts.set(kernelName, (fallbackCounts.get(kernelName) ?? 0) + 1);
      const below = kernelBelow(config);
      if (!below) throw new Error(`${kernelName}: this input is not covered by the onnxruntime kernel and no other kernel is registered for it`);
      return below.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
    }) as unknown as KernelFunc,
  };
  return config;
}

export function shapeKey(...shapes: ReadonlyArray<readonly number[]>): string {
  return shapes.map((s) => s.join('x')).join(',');
}

/**
 * Run `op` (the session cached under `key`) writing a new output of `shape`. Undefined when
 * onnxruntime fails at run time: the output is freed, the key rejected, and the caller falls
 * back to the kernel below (correct, only slower; `ortRejections` shows it).
 */
export function runOrt(backend: BackendWasm, key: string, op: OrtOp, shape: number[], feeds: Record<string, TensorInfo>, outName: string): TensorInfo | undefined {
  const out = backend.makeOutput(shape, 'float32');
  try {
    // Views are taken after the allocation above: growing wasm memory detaches older views.
    const bound: Record<string, BindingTensor> = {};
    for (const [name, t] of Object.entries(feeds)) bound[name] = heapTensor(backend, t);
    op.run(bound, { [outName]: heapTensor(backend, out) });
    return out;
  } catch (err) {
    backend.disposeData(out.dataId);
    rejectOrtOp(key, (err as Error).message);
    return undefined;
  }
}
