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
 * built for: 36% of a MobileNetV2 step, 24% with these loops (BENCHMARKS.md, issue 24). With a
 * channel multiplier of 1 and channels in whole f32x4 vectors (MobileNet's), each run of positions
 * is summed in WebAssembly SIMD (simd/depthwiseConv.wat) in float32, the runs in float64.
 */
import { backend_util, DepthwiseConv2dNativeBackpropFilter, type DepthwiseConv2dNativeBackpropFilterAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { composed } from './kernelScope';
import { expectShape, geometryOf, isEmpty } from './convGeometry';
import { depthwiseBackpropFilterLoops, type ConvGeometry } from './reference';
import { heapOffset } from '../simd/module';
import { depthwisePasses, forEachTapRun, type DepthwisePasses } from './depthwiseTapRuns';

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
  const { inChannels: C, strideWidth: sw, filterHeight: kh, filterWidth: kw } = g;
  const M = multiplier;
  const acc = new Float64Array(kh * kw * C * M);
  forEachTapRun(g, M, (a, xb, db, len) => {
    if (M === 1) positionsTimesDy(acc, a, x, xb, sw * C, dy, db, C, len);
    else positionsTimesDyMultiplied(acc, a, x, xb, sw * C, dy, db, C, M, len);
  });
  return Float32Array.from(acc);
}

/**
 * The same sums on the SIMD pass of depthwiseConv.wat (multiplier 1, channels a multiple of 4):
 * each run summed in float32 (at most one output row), the runs in float64.
 */
function depthwiseFilterGradientSimd(backend: BackendWasm, passes: DepthwisePasses, g: ConvGeometry, x: TensorInfo, dy: TensorInfo): Float32Array {
  const { inChannels: C, strideWidth: sw, filterHeight: kh, filterWidth: kw } = g;
  const size = kh * kw * C;
  const accT = backend.makeOutput([2 * size], 'float32'); // float64 storage
  try {
    backend.typedArrayFromHeap(accT).fill(0);
    const [acc, xAt, dyAt] = [heapOffset(backend, accT), heapOffset(backend, x), heapOffset(backend, dy)];
    forEachTapRun(g, 1, (a, xb, db, len) => passes.tap_run(acc + 8 * a, xAt + 4 * xb, sw * C, dyAt + 4 * db, C, len));
    // (The backend's malloc aligns to 8 bytes at least, as a float64 view needs.)
    const heap = backend.typedArrayFromHeap(accT) as Float32Array;
    return Float32Array.from(new Float64Array(heap.buffer, heap.byteOffset, size));
  } finally {
    backend.disposeData(accT.dataId);
  }
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
  const geometry = geometryOf(info);
  const passes = depthwisePasses(backend, geometry, multiplier, x, dy);
  const grad = passes
    ? depthwiseFilterGradientSimd(backend, passes, geometry, x, dy)
    : x.dtype === 'float32' && dy.dtype === 'float32'
      ? depthwiseFilterGradient(geometry, backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(dy) as Float32Array, multiplier)
      : depthwiseBackpropFilterLoops(geometry, backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(dy), multiplier);
  const out = backend.makeOutput(filterShape, 'float32');
  backend.typedArrayFromHeap(out).set(grad);
  return out;
}

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilterWasm as unknown as KernelFunc,
};
