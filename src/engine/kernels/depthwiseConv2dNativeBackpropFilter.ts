/**
 * DepthwiseConv2dNativeBackpropFilter for the wasm backend (which has none):
 *
 *   dW[i,j,c,m] = Σ_{n,y,x} x[n, y·sh + i·dh − top, x·sw + j·dw − left, c] · dy[n,y,x,c·M+m],
 *
 * as one pass over dy per filter tap in plain loops, channels innermost (both tensors are channels
 * last, so each inner run reads contiguous memory), summed in float64. The arithmetic is tiny (9
 * multiply-adds per element of dy for a 3x3 filter); what cost time was the layout. It was composed
 * from the backend's DepthwiseConv2dNative with each (image, channel) pair a channel and dy the
 * filter — two full transposes and a depthwise convolution with a 32x32 kernel, which XNNPACK is not
 * built for: 36% of a MobileNetV2 step, 24% with these loops (BENCHMARKS.md, issue 24).
 */
import { backend_util, DepthwiseConv2dNativeBackpropFilter, type DepthwiseConv2dNativeBackpropFilterAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { composed } from './kernelScope';
import { expectShape, geometryOf, isEmpty } from './convGeometry';
import { depthwiseBackpropFilterLoops, type ConvGeometry } from './reference';

/**
 * acc[a + k] += Σ_p x[xb + p·xs + k] · dy[db + p·k1 + k] over `len` positions p and `k1` = C·M
 * channels (multiplier 1: the filter channel k reads input channel k). Its own function over
 * arrays of one kind, so V8 compiles it as a tight loop.
 */
function positionsTimesDy(acc: Float64Array, a: number, x: Float32Array, xb: number, xs: number, dy: Float32Array, db: number, k1: number, len: number): void {
  for (let p = 0; p < len; p++) {
    const xo = xb + p * xs;
    const d = db + p * k1;
    for (let k = 0; k < k1; k++) acc[a + k] += x[xo + k] * dy[d + k];
  }
}

/** The same with a channel multiplier M > 1: filter channel c·M + m reads input channel c. */
function positionsTimesDyMultiplied(acc: Float64Array, a: number, x: Float32Array, xb: number, xs: number, dy: Float32Array, db: number, c: number, m: number, len: number): void {
  for (let p = 0; p < len; p++) {
    const xo = xb + p * xs;
    const d = db + p * c * m;
    for (let k = 0; k < c; k++) {
      const xv = x[xo + k];
      for (let q = 0; q < m; q++) acc[a + k * m + q] += xv * dy[d + k * m + q];
    }
  }
}

function depthwiseFilterGradient(g: ConvGeometry, x: Float32Array, dy: Float32Array, multiplier: number): Float32Array {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, filterHeight: kh, filterWidth: kw } = g;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padTop: top, padLeft: left } = g;
  const M = multiplier;
  const acc = new Float64Array(kh * kw * C * M);
  for (let j = 0; j < kw; j++) {
    // The output columns whose input column xo·sw + j·dw − left lies inside [0, W).
    const lo = Math.max(0, Math.ceil((left - j * dw) / sw));
    const hi = Math.min(Wo - 1, Math.floor((W - 1 + left - j * dw) / sw));
    if (hi < lo) continue;
    for (let n = 0; n < batch; n++) {
      for (let y = 0; y < Ho; y++) {
        for (let i = 0; i < kh; i++) {
          const h = y * sh + i * dh - top;
          if (h < 0 || h >= H) continue;
          const a = (i * kw + j) * C * M;
          const xb = ((n * H + h) * W + lo * sw + j * dw - left) * C;
          const db = ((n * Ho + y) * Wo + lo) * C * M;
          if (M === 1) positionsTimesDy(acc, a, x, xb, sw * C, dy, db, C, hi - lo + 1);
          else positionsTimesDyMultiplied(acc, a, x, xb, sw * C, dy, db, C, M, hi - lo + 1);
        }
      }
    }
  }
  return Float32Array.from(acc);
}

function depthwiseBackpropFilterWasm(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: BackendWasm; attrs: DepthwiseConv2dNativeBackpropFilterAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const [kh, kw, , multiplier] = filterShape;
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true);
  expectShape(DepthwiseConv2dNativeBackpropFilter, 'dy', dy.shape, info.outShape);
  expectShape(DepthwiseConv2dNativeBackpropFilter, 'filterShape', filterShape, [kh, kw, x.shape[3], multiplier]);

  if (isEmpty(x.shape, dy.shape, filterShape)) return composed(backend, (s) => s.zeros(filterShape));
  const grad =
    x.dtype === 'float32' && dy.dtype === 'float32'
      ? depthwiseFilterGradient(geometryOf(info), backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(dy) as Float32Array, multiplier)
      : depthwiseBackpropFilterLoops(geometryOf(info), backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(dy), multiplier);
  const out = backend.makeOutput(filterShape, 'float32');
  backend.typedArrayFromHeap(out).set(grad);
  return out;
}

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilterWasm as unknown as KernelFunc,
};
