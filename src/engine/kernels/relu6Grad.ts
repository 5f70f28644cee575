/**
 * `CvwRelu6Grad` for the wasm backend: Relu6's gradient, dy times 1 where 0 < x ≤ 6 and 0 elsewhere, in one
 * SIMD sweep (simd/relu6.wat) where the composed gradient (src/engine/relu6Gradient.ts) takes five
 * (two Steps, two Subs, a Multiply: 18% of a MobileNetV2 step in BENCHMARKS.md).
 */
import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { RELU6_GRAD } from '../relu6Gradient';
import { RELU6_WASM } from '../simd/relu6Binary';
import { heapOffset, onBackendMemory } from '../simd/module';

interface Relu6Pass {
  relu6_grad(dy: number, x: number, n: number, dx: number): void;
}

function relu6GradWasm(args: { inputs: { dy: TensorInfo; x: TensorInfo }; backend: BackendWasm }): TensorInfo {
  const { inputs, backend } = args;
  const { dy, x } = inputs;
  if (dy.dtype !== 'float32' || x.dtype !== 'float32') throw new Error(`${RELU6_GRAD}: dy and x must be float32, got ${dy.dtype} and ${x.dtype}`);
  const n = util.sizeFromShape(x.shape);
  if (util.sizeFromShape(dy.shape) !== n) throw new Error(`${RELU6_GRAD}: dy [${dy.shape}] and x [${x.shape}] differ in size`);
  const dx = backend.makeOutput(x.shape, 'float32');
  const pass = onBackendMemory<Relu6Pass>(backend, RELU6_WASM);
  if (pass) {
    pass.relu6_grad(heapOffset(backend, dy), heapOffset(backend, x), n, heapOffset(backend, dx));
  } else {
    const [g, v, out] = [backend.typedArrayFromHeap(dy), backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(dx)];
    for (let i = 0; i < n; i++) out[i] = g[i] * (v[i] > 0 && v[i] <= 6 ? 1 : 0);
  }
  return dx;
}

export const relu6GradConfig: KernelConfig = {
  kernelName: RELU6_GRAD,
  backendName: 'wasm',
  kernelFunc: relu6GradWasm as unknown as KernelFunc,
};
