/**
 * MaxPoolGrad for the wasm backend, composed from its fast elementwise kernels.
 *
 * The wasm backend's own MaxPoolGrad drops gradients as soon as there is more than one channel or
 * image (e.g. [1,2,3,2], 1x1 window at stride 2: half of dx is zero; found by the engine fuzz,
 * test/engine/engineFuzz.ts). Here each window tap (i, j), in row-major order, is one strided slice
 * of the input: it takes dy where it equals the window's maximum and no earlier tap did (the cpu
 * backend's first-maximum rule), and its share is scattered back by the zero upsampling of the
 * convolution gradients.
 */
import { backend_util, MaxPoolGrad, type KernelConfig, type KernelFunc, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { composed, type KernelScope } from './kernelScope';
import { cropNegativePadding, isEmpty, upsampleWithZeros } from './convGeometry';

function filled(s: KernelScope, shape: number[], value: number): TensorInfo {
  const out = s.track(s.backend.makeOutput(shape, 'float32'));
  s.backend.typedArrayFromHeap(out).fill(value);
  return out;
}

function maxPoolGradWasm(args: { inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo }; backend: BackendWasm; attrs: MaxPoolGradAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, input, output } = inputs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  if (isEmpty(input.shape, dy.shape)) return composed(backend, (s) => s.zeros(input.shape));
  return composed(backend, (s) => {
    // The padded input covers every window and the whole input.
    const rows = Math.max((ho - 1) * sh + kh, top + h);
    const cols = Math.max((wo - 1) * sw + kw, left + w);
    const padded = s.run(
      'PadV2',
      { x: input },
      {
        paddings: [
          [0, 0],
          [top, rows - h - top],
          [left, cols - w - left],
          [0, 0],
        ],
        constantValue: -Infinity,
      },
    );
    let free = filled(s, [n, ho, wo, c], 1);
    let dxPadded: TensorInfo | undefined;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const tap = s.run(
          'StridedSlice',
          { x: padded },
          { begin: [0, i, j, 0], end: [n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, c], strides: [1, sh, sw, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
        );
        const isMax = s.run('Cast', { x: s.run('Equal', { a: tap, b: output }) }, { dtype: 'float32' });
        const taken = s.run('Multiply', { a: isMax, b: free });
        free = s.run('Sub', { a: free, b: taken });
        const share = upsampleWithZeros(s, s.run('Multiply', { a: taken, b: dy }), sh, sw);
        const placed = cropNegativePadding(s, share, i, rows - i - ho * sh, j, cols - j - wo * sw);
        if (!placed) continue;
        const spread = s.pad(placed.x, placed.pad as Array<[number, number]>);
        dxPadded = dxPadded ? s.run('Add', { a: dxPadded, b: spread }) : spread;
      }
    }
    return dxPadded ? s.slice(dxPadded, [0, top, left, 0], [n, h, w, c]) : s.zeros(input.shape);
  });
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGradWasm as unknown as KernelFunc,
};
