/**
 * DepthwiseConv2dNative for the wasm backend, in WebAssembly SIMD where it pays (float32,
 * multiplier 1, channels in whole f32x4 vectors, filters of more than 9 taps: ConvNeXt's 7x7): each
 * run of x is added into the output row times its filter tap (depthwiseTapRuns.ts,
 * simd/depthwiseConv.wat), the loops the input gradient already runs. The backend's own kernel
 * (XNNPACK's) took 6-8 times as long on 7x7 filters and twice as long on 5x5; on 3x3 (MobileNet's) it
 * is 10-30% faster (bench/engine/depthwiseForward.ts, BENCHMARKS.md), so those and other inputs
 * still go to it, `same` padding given explicitly (explicitSamePadding.ts: XNNPACK's own is wrong
 * on some shapes).
 */
import { backend_util, DepthwiseConv2dNative, type DepthwiseConv2dNativeAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { geometryOf } from './convGeometry';
import { kernelBelow } from './install';
import { runWithExplicitSame } from './explicitSamePadding';
import { heapOffset } from '../simd/module';
import { depthwisePasses, forEachTapRun } from './depthwiseTapRuns';

/** Filters of more taps than this run on the SIMD loops; XNNPACK's single-pass 3x3 kernel is faster. */
const XNNPACK_MAX_TAPS = 9;

type Args = { inputs: { x: TensorInfo; filter: TensorInfo }; backend: BackendWasm; attrs: DepthwiseConv2dNativeAttrs };

/** The convolution on the SIMD runs, or undefined where they do not apply (then the caller passes it on). */
export function depthwiseRuns(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, attrs: DepthwiseConv2dNativeAttrs): TensorInfo | undefined {
  if (backend_util.convertConv2DDataFormat(attrs.dataFormat) !== 'channelsLast' || x.shape.length !== 4 || filter.shape.length !== 4 || filter.shape[2] !== x.shape[3]) return undefined;
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true);
  if (info.outHeight <= 0 || info.outWidth <= 0 || info.batchSize <= 0) return undefined;
  const geometry = geometryOf(info);
  const passes = depthwisePasses(backend, geometry, filter.shape[3], x, filter);
  if (!passes) return undefined;
  const out = backend.makeOutput(info.outShape, 'float32');
  backend.typedArrayFromHeap(out).fill(0);
  const [outAt, xAt, fAt] = [out, x, filter].map((t) => heapOffset(backend, t));
  const c = geometry.inChannels;
  forEachTapRun(geometry, 1, (a, xb, ob, len) => passes.tap_run_forward(outAt + 4 * ob, xAt + 4 * xb, info.strideWidth * c, fAt + 4 * a, c, len));
  return out;
}

function depthwiseConv2dWasm(args: Args): TensorInfo {
  const { inputs, backend, attrs } = args;
  const [kh, kw] = inputs.filter.shape;
  const out = kh * kw > XNNPACK_MAX_TAPS ? depthwiseRuns(backend, inputs.x, inputs.filter, attrs) : undefined;
  if (out) return out;
  const below = kernelBelow(depthwiseConv2dNativeConfig);
  if (!below) throw new Error('DepthwiseConv2dNative: no wasm kernel is registered below the SIMD one');
  return runWithExplicitSame(below, args as unknown as Parameters<typeof runWithExplicitSame>[1], true) as TensorInfo;
}

export const depthwiseConv2dNativeConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNative,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dWasm as unknown as KernelFunc,
};
