/**
 * Plumbing shared by the onnxruntime-backed kernels of the wasm backend: binding wasm-heap tensors
 * to ORT without copies, and handing inputs a kernel does not cover to the kernel it replaced.
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { kernelBelow } from '../../kernels/install';
import type { OnnxGraph } from '../onnxModel';
import { ortOp, ortRejections, rejectOrtOp, type BindingTensor, type OrtOp } from '../session';

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
  return runOrtOutputs(backend, key, op, feeds, { [outName]: shape })?.[0];
}

/**
 * `runOrt` for graphs with several outputs: new tensors of the given shapes, in the order of
 * `outputs` (each bound to the graph output of its name), or undefined when onnxruntime fails.
 * `dims` overrides the shape ORT is told a feed has (a view: flattened leading axes).
 */
export function runOrtOutputs(
  backend: BackendWasm,
  key: string,
  op: OrtOp,
  feeds: Record<string, TensorInfo>,
  outputs: Record<string, number[]>,
  dims: Record<string, readonly number[]> = {},
): TensorInfo[] | undefined {
  const outs = Object.entries(outputs).map(([name, shape]) => [name, backend.makeOutput(shape, 'float32'), dims[name]] as const);
  try {
    // Views are taken after the allocations above: growing wasm memory detaches older views.
    const bound: Record<string, BindingTensor> = {};
    for (const [name, t] of Object.entries(feeds)) bound[name] = heapTensor(backend, t, dims[name]);
    const fetches: Record<string, BindingTensor> = {};
    for (const [name, t, d] of outs) fetches[name] = heapTensor(backend, t, d);
    op.run(bound, fetches);
    return outs.map(([, t]) => t);
  } catch (err) {
    for (const [, t] of outs) backend.disposeData(t.dataId);
    rejectOrtOp(key, (err as Error).message);
    return undefined;
  }
}

/**
 * Run one of the engine's own fused kernels (no kernel below it to fall back to) on onnxruntime:
 * float32 inputs only, and a failure is an error that names the kernel.
 */
export function runFused(
  kernelName: string,
  backend: BackendWasm,
  key: string,
  graph: () => OnnxGraph,
  feeds: Record<string, TensorInfo>,
  outputs: Record<string, number[]>,
  dims: Record<string, readonly number[]> = {},
): TensorInfo[] {
  for (const [name, t] of Object.entries(feeds)) {
    if (t.dtype !== 'float32') throw new Error(`${kernelName}: ${name} must be float32, got ${t.dtype}`);
  }
  const outs = runOrtOutputs(backend, key, ortOp(key, graph), feeds, outputs, dims);
  if (!outs) throw new Error(`${kernelName}: onnxruntime failed: ${ortRejections().get(key)}`);
  return outs;
}
