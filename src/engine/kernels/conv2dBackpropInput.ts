/**
 * Conv2DBackpropInput for the wasm backend, composed from its fast (XNNPACK) Conv2D.
 *
 * The input gradient of a convolution is a full correlation of the stride-upsampled output
 * gradient with the spatially flipped filter whose in/out channels are swapped
 * (Dumoulin & Visin, A guide to convolution arithmetic for deep learning, arXiv:1603.07285, §4).
 * The wasm backend's own kernel is a scalar loop, about 10x slower than this.
 */
import { backend_util, Conv2DBackpropInput, type Conv2DBackpropInputAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { composed, type KernelScope } from './kernelScope';
import { cropNegativePadding, expectShape, geometryOf, isEmpty, NCHW_TO_NHWC, NHWC_TO_NCHW, upsampleWithZeros } from './convGeometry';
import { conv2dBackpropInputLoops } from './reference';

/** dx (NHWC) from dy (NHWC) and filter [kh,kw,Ci,Co], for stride `sh,sw` and forward padding `top,left`. */
export function conv2dInputGradient(s: KernelScope, info: backend_util.Conv2DInfo, dyNHWC: TensorInfo, filter: TensorInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth } = info;
  const up = upsampleWithZeros(s, dyNHWC, sh, sw);
  const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
  const swapped = s.transpose(flipped, [0, 1, 3, 2]);
  // A correlation of the (outHeight * sh)-row upsampled gradient with a kh-row filter gives
  // inHeight rows when the paddings below add up; either may be negative (see convGeometry).
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = inHeight + kh - 1 - outHeight * sh - top;
  const right = inWidth + kw - 1 - outWidth * sw - left;
  const cropped = cropNegativePadding(s, up, top, bottom, left, right);
  if (!cropped) return s.zeros([info.batchSize, inHeight, inWidth, info.inChannels]);
  const { x, pad } = cropped;
  return s.run('Conv2D', { x, filter: swapped }, { strides: [1, 1], pad, dilations: [1, 1], dataFormat: 'NHWC' });
}

function conv2DBackpropInputWasm(args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: BackendWasm; attrs: Conv2DBackpropInputAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, format);
  const channelsFirst = info.dataFormat === 'channelsFirst';
  expectShape(Conv2DBackpropInput, 'dy', dy.shape, info.outShape);
  expectShape(Conv2DBackpropInput, 'filter', filter.shape, [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels]);

  if (isEmpty(dy.shape, filter.shape, inputShape)) return composed(backend, (s) => s.zeros(inputShape));
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    // Not a case the float kernels cover: the plain loops are slow but right.
    return composed(backend, (s) => {
      const dyNHWC = channelsFirst ? s.transpose(dy, NCHW_TO_NHWC) : dy;
      const dx = conv2dBackpropInputLoops(geometryOf(info), backend.typedArrayFromHeap(dyNHWC), backend.typedArrayFromHeap(filter), info.outChannels);
      const out = backend.makeOutput([info.batchSize, info.inHeight, info.inWidth, info.inChannels], 'float32');
      backend.typedArrayFromHeap(out).set(dx);
      if (!channelsFirst) return out;
      s.track(out);
      return s.transpose(out, NHWC_TO_NCHW);
    });
  }
  return composed(backend, (s) => {
    const dyNHWC = channelsFirst ? s.transpose(dy, NCHW_TO_NHWC) : dy;
    const dx = conv2dInputGradient(s, info, dyNHWC, filter);
    return channelsFirst ? s.transpose(dx, NHWC_TO_NCHW) : dx;
  });
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInputWasm as unknown as KernelFunc,
};
