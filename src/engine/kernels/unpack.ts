/**
 * Unpack (tf.unstack) on the wasm backend as runs of contiguous copies. The backend's own kernel
 * slices once per output through its generic path, which for rank 5 (attention's [3, B, H, N, D]
 * q/k/v split) walks an index per element. Along any axis, output
 * i is `outer` runs of `inner` contiguous elements of the input, which TypedArray.set copies at
 * memory speed.
 */
import { Unpack, util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { kernelBelow } from './install';

/** Below this many elements in a run, per-run copies cost more than the backend's loop saves. */
const MIN_RUN = 16;

function unpackWasm(args: { inputs: { value: TensorInfo }; backend: BackendWasm; attrs: { axis: number } }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const x = inputs.value;
  const axis = attrs.axis < 0 ? attrs.axis + x.shape.length : attrs.axis;
  const count = x.shape[axis];
  const outer = util.sizeFromShape(x.shape.slice(0, axis));
  const inner = util.sizeFromShape(x.shape.slice(axis + 1));
  if (x.dtype === 'string' || (inner < MIN_RUN && outer > 1)) {
    return kernelBelow(unpackConfig)!.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo[];
  }
  const outShape = x.shape.filter((_, i) => i !== axis);
  const outs = Array.from({ length: count }, () => backend.makeOutput(outShape, x.dtype));
  // Views after every allocation: growing the wasm memory detaches earlier ones.
  const src = backend.typedArrayFromHeap(x);
  for (let i = 0; i < count; i++) {
    const dst = backend.typedArrayFromHeap(outs[i]);
    for (let o = 0; o < outer; o++) {
      const from = (o * count + i) * inner;
      dst.set(src.subarray(from, from + inner), o * inner);
    }
  }
  return outs;
}

export const unpackConfig: KernelConfig = {
  kernelName: Unpack,
  backendName: 'wasm',
  kernelFunc: unpackWasm as unknown as KernelFunc,
};
