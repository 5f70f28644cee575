/**
 * Conv2DBackpropFilter for the wasm backend (which has none), composed from its fast Conv2D.
 *
 * dW[i,j,c,o] = Σ_{n,y,x} x[n, y·sh + i − padTop, x·sw + j − padLeft, c] · dy[n,y,x,o] is itself a
 * convolution once the batch and channel axes trade places: the input becomes x as [Ci,H,W,N]
 * (channels = the batch), the filter becomes dy as [Ho,Wo,N,Co], the forward stride becomes the
 * dilation, and the result [Ci,kh,kw,Co] is transposed to the filter layout [kh,kw,Ci,Co].
 */
import { backend_util, Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { composed, type KernelScope } from './kernelScope';
import { cropNegativePadding, expectShape, geometryOf, isEmpty, NCHW_TO_NHWC } from './convGeometry';
import { conv2dBackpropFilterLoops } from './reference';

/** dW [kh,kw,Ci,Co] from x and dy, both NHWC. */
export function conv2dFilterGradient(s: KernelScope, info: backend_util.Conv2DInfo, xNHWC: TensorInfo, dyNHWC: TensorInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth } = info;
  const xT = s.transpose(xNHWC, [3, 1, 2, 0]);
  const dyT = s.transpose(dyNHWC, [1, 2, 0, 3]);
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Rows the correlation needs below the input: kh outputs of a ((outHeight-1)*sh+1)-row kernel.
  const bottom = kh + (outHeight - 1) * sh - inHeight - top;
  const right = kw + (outWidth - 1) * sw - inWidth - left;
  const cropped = cropNegativePadding(s, xT, top, bottom, left, right);
  if (!cropped) return s.zeros([kh, kw, info.inChannels, info.outChannels]);
  const { x, pad } = cropped;
  const dw = s.run('Conv2D', { x, filter: dyT }, { strides: [1, 1], pad, dilations: [sh, sw], dataFormat: 'NHWC' });
  return s.transpose(dw, [1, 2, 0, 3]);
}

function conv2DBackpropFilterWasm(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: BackendWasm; attrs: Conv2DBackpropFilterAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, format);
  const channelsFirst = info.dataFormat === 'channelsFirst';
  expectShape(Conv2DBackpropFilter, 'dy', dy.shape, info.outShape);
  expectShape(Conv2DBackpropFilter, 'filterShape', filterShape, [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels]);

  if (isEmpty(x.shape, dy.shape, filterShape)) return composed(backend, (s) => s.zeros(filterShape));
  return composed(backend, (s) => {
    const xNHWC = channelsFirst ? s.transpose(x, NCHW_TO_NHWC) : x;
    const dyNHWC = channelsFirst ? s.transpose(dy, NCHW_TO_NHWC) : dy;
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
      // Not a case the float kernels cover: the plain loops are slow but right.
      const dw = conv2dBackpropFilterLoops(geometryOf(info), backend.typedArrayFromHeap(xNHWC), backend.typedArrayFromHeap(dyNHWC), info.outChannels);
      const out = backend.makeOutput(filterShape, 'float32');
      backend.typedArrayFromHeap(out).set(dw);
      return out;
    }
    return conv2dFilterGradient(s, info, xNHWC, dyNHWC);
  });
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as unknown as KernelFunc,
};
