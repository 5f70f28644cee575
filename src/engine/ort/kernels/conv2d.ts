/**
 * Convolutions of the wasm-ort engine: Conv2D, FusedConv2D (bias, relu), Conv2DBackpropInput and
 * Conv2DBackpropFilter run by onnxruntime's MLAS kernels on the wasm heap (convGraphs.ts; the
 * NCHWc kernels of nchwc.ts where the channels fit their blocks), one cached session per shape
 * signature; Conv2D and both gradients by oneDNN instead where its addon is built (../../onednn.ts).
 * Inputs they do not cover go to the kernel they replaced.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { backend_util, Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, FusedConv2D, type TensorInfo } from '@tensorflow/tfjs-core';
import { conv2dFilterGradGraph, conv2dFilterGradTapsGraph, conv2dGraph, conv2dInputGradAsConvGraph, conv2dInputGradGraph, inputGradAsConvPads, isPointwise, onnxConvPads, pointwiseConvGraph, pointwiseInputGradGraph } from '../convGraphs';
import { nchwcBlockFor, nchwcConvGraph, nchwcInputGradGraph } from '../nchwc';
import { gridChunks, gridLayoutGraph, gridPlan, gridStats, gridTapsGraph, type GridPlan } from '../gridFilterGrad';
import { f32, rejectOrtOp, tryOrtOp, type BindingTensor } from '../session';
import { heapTensor, runOrt, shapeKey, withFallback } from './common';
import { ConvPass, onednn, onednnParams } from '../../onednn';

type Info = backend_util.Conv2DInfo;

function infoKey(info: Info): string {
  return [
    shapeKey(info.inShape, info.outShape),
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
    info.dataFormat,
  ].join(':');
}

/** Signatures oneDNN refused (its message), so that they go to onnxruntime at once from then on. */
const onednnRejected = new Map<string, string>();

/** oneDNN's refusals in this process (tests, the profile). */
export function onednnRejections(): ReadonlyMap<string, string> {
  return onednnRejected;
}

/** Convolution passes run by oneDNN (tests check the path ran). */
export const onednnStats = { runs: 0 };

/**
 * One convolution pass on oneDNN into a new tensor of `shape`, or undefined (nothing allocated)
 * where the addon is not in use or refuses this signature.
 */
function viaOnednn(backend: BackendWasm, pass: ConvPass, info: Info, a: TensorInfo, b: TensorInfo, shape: number[]): TensorInfo | undefined {
  const dnnl = onednn();
  if (!dnnl || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const key = `${pass}:${infoKey(info)}`;
  if (onednnRejected.has(key)) return undefined;
  const out = backend.makeOutput(shape, 'float32');
  try {
    // Views after the allocation (a growing wasm memory detaches older ones).
    const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    dnnl.conv(pass, onednnParams(info), view(a), view(b), view(out));
    onednnStats.runs++;
    return out;
  } catch (err) {
    backend.disposeData(out.dataId);
    onednnRejected.set(key, (err as Error).message);
    return undefined;
  }
}

/** ONNX pads [top, left, bottom, right] giving tfjs' output size, or undefined. */
function forwardPads(info: Info): [number, number, number, number] | undefined {
  const effH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effW = (info.filterWidth - 1) * info.dilationWidth + 1;
  const h = onnxConvPads(info.inHeight, info.outHeight, effH, info.strideHeight, info.padInfo.top);
  const w = onnxConvPads(info.inWidth, info.outWidth, effW, info.strideWidth, info.padInfo.left);
  return h && w ? [h[0], w[0], h[1], w[1]] : undefined;
}

export const conv2DOrtConfig = withFallback(Conv2D, ({ inputs, backend, attrs }) => {
  const { x, filter } = inputs;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as { strides: number; pad: 'same'; dataFormat: 'NHWC' | 'NCHW'; dilations: number; dimRoundingMode?: 'floor' };
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat));
  const viaDnnl = viaOnednn(backend, ConvPass.Forward, info, x, filter, info.outShape);
  if (viaDnnl) return viaDnnl;
  const pads = forwardPads(info);
  if (!pads) return undefined;
  // 1x1: a MatMul over pixels, no layout change; channels in whole blocks: NCHWc (see bench/engine/convKernels.ts).
  const block = nchwcBlockFor(info);
  const key = `Conv2D:${infoKey(info)}:${block}`;
  const op = tryOrtOp(key, () => (isPointwise(info) ? pointwiseConvGraph(info) : block ? nchwcConvGraph(info, block, pads) : conv2dGraph(info, pads)));
  return op && runOrt(backend, key, op, info.outShape, { x, filter }, 'y');
});

export const fusedConv2DOrtConfig = withFallback(FusedConv2D, ({ inputs, backend, attrs }) => {
  const { x, filter } = inputs;
  const bias = inputs.bias as TensorInfo | undefined;
  const preluActivationWeights = inputs.preluActivationWeights as TensorInfo | undefined;
  const { strides, pad, dataFormat, dilations, dimRoundingMode, activation } = attrs as unknown as { strides: number; pad: 'same'; dataFormat: 'NHWC' | 'NCHW'; dilations: number; dimRoundingMode?: 'floor'; activation: string };
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || preluActivationWeights) return undefined;
  if (activation !== 'linear' && activation !== 'relu') return undefined;
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat));
  // ONNX's Conv bias is one value per output channel; anything else broadcasts differently.
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== info.outChannels)) return undefined;
  const pads = forwardPads(info);
  if (!pads) return undefined;
  const block = nchwcBlockFor(info);
  const key = `FusedConv2D:${infoKey(info)}:${bias ? 'b' : ''}:${activation}:${block}`;
  const op = tryOrtOp(key, () => (block ? nchwcConvGraph(info, block, pads, !!bias, activation === 'relu') : conv2dGraph(info, pads, !!bias, activation === 'relu')));
  return op && runOrt(backend, key, op, info.outShape, bias ? { x, filter, bias } : { x, filter }, 'y');
});

export const conv2DBackpropInputOrtConfig = withFallback(Conv2DBackpropInput, ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs;
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as { strides: number; pad: 'same'; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor'; inputShape: [number, number, number, number] };
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat));
  if (!sameShape(dy.shape, info.outShape)) return undefined;
  const viaDnnl = viaOnednn(backend, ConvPass.InputGrad, info, dy, filter, info.inShape);
  if (viaDnnl) return viaDnnl;
  // ConvTranspose: inHeight = stride*(outHeight-1) + outputPadding + kh - top - bottom.
  const excessH = info.strideHeight * (info.outHeight - 1) + info.filterHeight - info.padInfo.top - info.inHeight;
  const excessW = info.strideWidth * (info.outWidth - 1) + info.filterWidth - info.padInfo.left - info.inWidth;
  const pads: [number, number, number, number] = [info.padInfo.top, info.padInfo.left, Math.max(0, excessH), Math.max(0, excessW)];
  const outputPadding: [number, number] = [Math.max(0, -excessH), Math.max(0, -excessW)];
  if (pads[0] < 0 || pads[1] < 0) return undefined;
  // Fastest first (bench/engine/convKernels.ts): 1x1 as a GEMM; stride 1 as a forward Conv with
  // the flipped filter, on the NCHWc kernels where the channels fit; otherwise ConvTranspose.
  const block = nchwcBlockFor(info);
  const asConvPads = inputGradAsConvPads(info);
  const key = `Conv2DBackpropInput:${infoKey(info)}:${block}`;
  const op = tryOrtOp(key, () =>
    isPointwise(info) ? pointwiseInputGradGraph(info) : block && asConvPads ? nchwcInputGradGraph(info, block, asConvPads) : (conv2dInputGradAsConvGraph(info) ?? conv2dInputGradGraph(info, pads, outputPadding)),
  );
  return op && runOrt(backend, key, op, info.inShape, { dy, filter }, 'dx');
});

export const conv2DBackpropFilterOrtConfig = withFallback(Conv2DBackpropFilter, ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as { strides: number; pad: 'same'; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor'; filterShape: [number, number, number, number] };
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat));
  if (!sameShape(dy.shape, info.outShape)) return undefined;
  const viaDnnl = viaOnednn(backend, ConvPass.FilterGrad, info, x, dy, filterShape);
  if (viaDnnl) return viaDnnl;
  // Stride 1 where the padded grid costs little: GEMMs on views (gridFilterGrad.ts). Other NHWC:
  // one GEMM per filter tap on strided slices; NCHW: the batch/channel-swapped convolution.
  const key = `Conv2DBackpropFilter:${infoKey(info)}`;
  const plan = gridPlan(info);
  if (plan) {
    const dw = gridFilterGrad(backend, key, info, plan, x, dy, filterShape);
    if (dw) return dw;
  }
  const op = tryOrtOp(key, () => (info.dataFormat === 'channelsLast' ? conv2dFilterGradTapsGraph(info) : conv2dFilterGradGraph(info)));
  return op && runOrt(backend, key, op, filterShape, { x, dy }, 'dw');
});

/**
 * The filter gradient on the padded grid: one onnxruntime run lays x and dy out on it (x into a
 * buffer with a zero tail), a second runs the per-tap GEMMs on views of that buffer, each writing
 * its slice of dw. Undefined (nothing allocated) when onnxruntime refuses either graph.
 */
function gridFilterGrad(backend: BackendWasm, key: string, info: Info, plan: GridPlan, x: TensorInfo, dy: TensorInfo, filterShape: number[]): TensorInfo | undefined {
  const layoutKey = `${key}:grid-layout`;
  const tapsKey = `${key}:grid-taps:${plan.chunk}`;
  const layout = tryOrtOp(layoutKey, () => gridLayoutGraph(info, plan));
  const taps = layout && tryOrtOp(tapsKey, () => gridTapsGraph(info, plan));
  if (!layout || !taps) return undefined;
  const { batchSize: n, inChannels: ci, outChannels: co } = info;
  const image = ci * plan.rows;
  const size = n * image;
  const xt = backend.makeOutput([size + plan.tail], 'float32');
  const dyGrid = backend.makeOutput([n, plan.rows, co], 'float32');
  const dw = backend.makeOutput(filterShape, 'float32');
  let running = layoutKey;
  try {
    // Views after the allocations (a growing wasm memory detaches older ones).
    const xtData = backend.typedArrayFromHeap(xt) as Float32Array;
    const dyData = backend.typedArrayFromHeap(dyGrid) as Float32Array;
    const dwData = backend.typedArrayFromHeap(dw) as Float32Array;
    // The tail meets only dy's zero rows, but NaN from stale memory times zero is NaN.
    xtData.fill(0, size);
    layout.run({ x: heapTensor(backend, x), dy: heapTensor(backend, dy) }, { xt: f32(xtData.subarray(0, size), [n, ci, plan.rows]), dy_grid: f32(dyData, [n, plan.rows, co]) });
    const feeds: Record<string, BindingTensor> = {};
    const outs: Record<string, BindingTensor> = {};
    gridChunks(n, plan).forEach(([start, count], c) => {
      const dyImage = plan.rows * co;
      feeds[`dy${c}`] = f32(dyData.subarray(start * dyImage, (start + count) * dyImage), [count, plan.rows, co]);
      plan.offsets.forEach((off, t) => {
        const from = start * image + off;
        feeds[`a${c}_${t}`] = f32(xtData.subarray(from, from + count * image), [count, ci, plan.rows]);
      });
    });
    plan.offsets.forEach((_, t) => {
      outs[`dw${t}`] = f32(dwData.subarray(t * ci * co, (t + 1) * ci * co), [ci, co]);
    });
    running = tapsKey;
    taps.run(feeds, outs);
    gridStats.runs++;
    return dw;
  } catch (err) {
    backend.disposeData(dw.dataId);
    rejectOrtOp(running, (err as Error).message);
    return undefined;
  } finally {
    backend.disposeData(xt.dataId);
    backend.disposeData(dyGrid.dataId);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export const ORT_CONV_KERNELS = [conv2DOrtConfig, fusedConv2DOrtConfig, conv2DBackpropInputOrtConfig, conv2DBackpropFilterOrtConfig];
