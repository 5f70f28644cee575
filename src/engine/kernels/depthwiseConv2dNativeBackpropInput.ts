/**
 * DepthwiseConv2dNativeBackpropInput for the wasm backend (which has none), composed from its
 * fast DepthwiseConv2dNative.
 *
 * As for a regular convolution (conv2dBackpropInput.ts), the input gradient correlates the
 * stride-upsampled dy with the flipped filter. Each of the C·M output channels is its own
 * depthwise channel (multiplier 1), and the M channels that came from one input channel are
 * summed at the end. With a multiplier of 1 and channels in whole f32x4 vectors (MobileNet's),
 * each run of dy is instead scattered into dx times its filter tap in WebAssembly SIMD
 * (depthwiseTapRuns.ts, simd/depthwiseConv.wat).
 */
import { backend_util, DepthwiseConv2dNativeBackpropInput, type DepthwiseConv2dNativeBackpropInputAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { composed } from './kernelScope';
import { cropNegativePadding, expectShape, geometryOf, isEmpty, upsampleWithZeros } from './convGeometry';
import { depthwiseBackpropInputLoops } from './reference';
import { heapOffset } from '../simd/module';
import { depthwisePasses, forEachTapRun } from './depthwiseTapRuns';

function depthwiseBackpropInputWasm(args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: BackendWasm; attrs: DepthwiseConv2dNativeBackpropInputAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  const [kh, kw, channels, multiplier] = filter.shape;
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, dilations ?? 1, pad, dimRoundingMode, true);
  expectShape(DepthwiseConv2dNativeBackpropInput, 'dy', dy.shape, info.outShape);
  expectShape(DepthwiseConv2dNativeBackpropInput, 'filter', filter.shape, [kh, kw, inputShape[3], multiplier]);
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, batchSize, inHeight, inWidth, outHeight, outWidth } = info;

  if (isEmpty(dy.shape, filter.shape, inputShape)) return composed(backend, (s) => s.zeros(inputShape));
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    const dx = depthwiseBackpropInputLoops(geometryOf(info), backend.typedArrayFromHeap(dy), backend.typedArrayFromHeap(filter), multiplier);
    const out = backend.makeOutput(inputShape, 'float32');
    backend.typedArrayFromHeap(out).set(dx);
    return out;
  }
  const geometry = geometryOf(info);
  const passes = depthwisePasses(backend, geometry, multiplier, dy, filter);
  if (passes) {
    // Scatter each run of dy times its tap into dx: no upsampled dy, no padding, no flipped filter.
    const dx = backend.makeOutput(inputShape, 'float32');
    backend.typedArrayFromHeap(dx).fill(0);
    const [dxAt, dyAt, fAt] = [dx, dy, filter].map((t) => heapOffset(backend, t));
    forEachTapRun(geometry, 1, (a, xb, db, len) => passes.tap_run_input(dxAt + 4 * xb, sw * channels, dyAt + 4 * db, fAt + 4 * a, channels, len));
    return dx;
  }
  return composed(backend, (s) => {
    const up = upsampleWithZeros(s, dy, sh, sw);
    const flipped = s.reshape(s.run('Reverse', { x: filter }, { dims: [0, 1] }), [kh, kw, channels * multiplier, 1]);
    const top = (kh - 1) * dh - info.padInfo.top;
    const left = (kw - 1) * dw - info.padInfo.left;
    const bottom = inHeight + (kh - 1) * dh - outHeight * sh - top;
    const right = inWidth + (kw - 1) * dw - outWidth * sw - left;
    const cropped = cropNegativePadding(s, up, top, bottom, left, right);
    if (!cropped) return s.zeros(inputShape);
    const { x, pad: explicit } = cropped;
    const perChannel = s.run('DepthwiseConv2dNative', { x, filter: flipped }, { strides: [1, 1], pad: explicit, dilations: [dh, dw], dataFormat: 'NHWC' });
    if (multiplier === 1) return perChannel;
    const split = s.reshape(perChannel, [batchSize, inHeight, inWidth, channels, multiplier]);
    return s.run('Sum', { x: split }, { axis: [4], keepDims: false });
  });
}

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInputWasm as unknown as KernelFunc,
};
