/**
 * MaxPoolGrad for the wasm backend: one pass over the windows on the wasm heap.
 *
 * The wasm backend's own MaxPoolGrad drops gradients as soon as there is more than one channel or
 * image (e.g. [1,2,3,2], 1x1 window at stride 2: half of dx is zero; found by the engine fuzz,
 * test/engine/engineFuzz.ts). Each window's gradient goes to its first maximum in row-major order,
 * the cpu backend's rule (maxPoolPositions: a later tap must be strictly greater). Channels are the
 * inner loop, so every read is contiguous: a ResNet stem's 3x3 stride-2 pool over [16,112,112,64]
 * takes 0.34 s here against 1.4 s for the wasm kernel it replaces (and 6 s composed from strided
 * slices and comparisons, tried first).
 */
import { backend_util, MaxPoolGrad, type KernelConfig, type KernelFunc, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** dx [N,H,W,C] of a max pooling of x [N,H,W,C] with output gradient dy, as plain loops. */
export function maxPoolGradLoops(info: backend_util.Conv2DInfo, x: Float32Array, dy: Float32Array, dx: Float32Array): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  dx.fill(0);
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < ho; oy++) {
      const y0 = oy * sh - top;
      const yLo = Math.max(0, y0);
      const yHi = Math.min(h, y0 + kh);
      for (let ox = 0; ox < wo; ox++) {
        const x0 = ox * sw - left;
        const xLo = Math.max(0, x0);
        const xHi = Math.min(w, x0 + kw);
        best.fill(-Infinity);
        where.fill(-1);
        for (let iy = yLo; iy < yHi; iy++) {
          for (let ix = xLo; ix < xHi; ix++) {
            const base = ((b * h + iy) * w + ix) * c;
            for (let ch = 0; ch < c; ch++) {
              if (x[base + ch] > best[ch]) {
                best[ch] = x[base + ch];
                where[ch] = base + ch;
              }
            }
          }
        }
        const out = ((b * ho + oy) * wo + ox) * c;
        for (let ch = 0; ch < c; ch++) if (where[ch] >= 0) dx[where[ch]] += dy[out + ch];
      }
    }
  }
}

function maxPoolGradWasm(args: { inputs: { dy: TensorInfo; input: TensorInfo }; backend: BackendWasm; attrs: MaxPoolGradAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, input } = inputs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  if (info.dataFormat !== 'channelsLast') throw new Error(`MaxPoolGrad on wasm takes NHWC tensors, not ${info.dataFormat}`);
  const dx = backend.makeOutput(input.shape, 'float32');
  // Views after the allocation: growing wasm memory detaches older ones.
  maxPoolGradLoops(info, backend.typedArrayFromHeap(input) as Float32Array, backend.typedArrayFromHeap(dy) as Float32Array, backend.typedArrayFromHeap(dx) as Float32Array);
  return dx;
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGradWasm as unknown as KernelFunc,
};
