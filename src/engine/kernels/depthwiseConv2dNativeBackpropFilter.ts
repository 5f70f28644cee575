/**
 * DepthwiseConv2dNativeBackpropFilter for the wasm backend (which has none), composed from its
 * fast DepthwiseConv2dNative.
 *
 * dW[i,j,c,m] = Σ_{n,y,x} x[n, y·sh + i·dh − top, x·sw + j·dw − left, c] · dy[n,y,x,c·M+m].
 * Every (image, channel) pair becomes one depthwise channel of a single-image input
 * x as [1,H,W,N·C]; dy as [Ho,Wo,N·C,M] is its filter; the forward dilation becomes the stride and
 * the forward stride the dilation. The N images' contributions are summed at the end.
 */
import { backend_util, DepthwiseConv2dNativeBackpropFilter, type DepthwiseConv2dNativeBackpropFilterAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { composed } from './kernelScope';
import { cropNegativePadding, expectShape, geometryOf, isEmpty } from './convGeometry';
import { depthwiseBackpropFilterLoops } from './reference';

function depthwiseBackpropFilterWasm(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: BackendWasm; attrs: DepthwiseConv2dNativeBackpropFilterAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const [kh, kw, channels, multiplier] = filterShape;
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true);
  expectShape(DepthwiseConv2dNativeBackpropFilter, 'dy', dy.shape, info.outShape);
  expectShape(DepthwiseConv2dNativeBackpropFilter, 'filterShape', filterShape, [kh, kw, x.shape[3], multiplier]);
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, batchSize: n, inHeight, inWidth, outHeight, outWidth } = info;

  if (isEmpty(x.shape, dy.shape, filterShape)) return composed(backend, (s) => s.zeros(filterShape));
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    const grad = depthwiseBackpropFilterLoops(geometryOf(info), backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(dy), multiplier);
    const out = backend.makeOutput(filterShape, 'float32');
    backend.typedArrayFromHeap(out).set(grad);
    return out;
  }
  return composed(backend, (s) => {
    const images = s.reshape(s.transpose(x, [1, 2, 0, 3]), [1, inHeight, inWidth, n * channels]);
    const dyT = s.transpose(s.reshape(dy, [n, outHeight, outWidth, channels * multiplier]), [1, 2, 0, 3]);
    const filter = s.reshape(dyT, [outHeight, outWidth, n * channels, multiplier]);
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    // kh outputs at stride dh of a ((outHeight-1)*sh+1)-row kernel need this many rows below.
    const bottom = (kh - 1) * dh + (outHeight - 1) * sh + 1 - inHeight - top;
    const right = (kw - 1) * dw + (outWidth - 1) * sw + 1 - inWidth - left;
    const cropped = cropNegativePadding(s, images, top, bottom, left, right);
    if (!cropped) return s.zeros(filterShape);
    const { x: input, pad: explicit } = cropped;
    const perImage = s.run('DepthwiseConv2dNative', { x: input, filter }, { strides: [dh, dw], pad: explicit, dilations: [sh, sw], dataFormat: 'NHWC' });
    const split = s.reshape(perImage, [kh * kw, n, channels * multiplier]);
    const summed = n === 1 ? split : s.run('Sum', { x: s.transpose(split, [0, 2, 1]) }, { axis: [2], keepDims: false });
    return s.reshape(summed, filterShape);
  });
}

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilterWasm as unknown as KernelFunc,
};
