/**
 * Identity (and Cast to the same dtype) on the wasm backend without a copy.
 *
 * tfjs' engine clones every tensor it saves for a gradient (`keep(clone(t))`), and the wasm
 * backend's Identity copies the data: a ResNet-18 step made 447 full copies of activations. The
 * cpu and WebGL backends share the data instead (a reference count), which is safe because tfjs
 * tensors are immutable — no wasm kernel writes into its inputs, and Variable.assign swaps data
 * rather than writing into it. These kernels do what the cpu backend does.
 */
import { Cast, Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { kernelBelow } from './install';

function share(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function identityWasm(args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo {
  const { x } = args.inputs;
  // Strings live outside the heap: the backend's own kernel handles them.
  if (x.dtype === 'string') return kernelBelow(identityConfig)!.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  return share(args.backend, x);
}

function castWasm(args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: { dtype: string } }): TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === args.attrs.dtype && x.dtype !== 'string') return share(args.backend, x);
  return kernelBelow(castConfig)!.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
}

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identityWasm as unknown as KernelFunc,
};

export const castConfig: KernelConfig = {
  kernelName: Cast,
  backendName: 'wasm',
  kernelFunc: castWasm as unknown as KernelFunc,
};
