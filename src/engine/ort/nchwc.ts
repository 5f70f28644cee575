/**
 * Convolutions on onnxruntime's NCHWc kernels (MLAS's blocked layout: channels in blocks of 16 on
 * AVX-512, 8 on AVX2, the block innermost), called directly through the `com.microsoft.nchwc`
 * contrib ops ReorderInput, Conv and ReorderOutput.
 *
 * onnxruntime puts a plain Conv on these kernels itself only when its weights are constant
 * initializers (the NchwcTransformer reorders them once, when the session is created). The
 * engine's filters change every step, so a plain Conv runs MLAS's generic im2col + GEMM path, at
 * 50-100 GFLOP/s where the NCHWc kernels reach 110-190 on the ResNet-18 shapes (BENCHMARKS.md,
 * "NCHWc convolutions"). Here the filter's reorder to the blocked layout is a Reshape + Transpose
 * inside the graph, so every call takes the fast kernels.
 *
 * Used where input and output channels are both multiples of the block (every ResNet, MobileNet
 * and FCN convolution after the stem); other convolutions keep convGraphs.ts's graphs.
 */
import type { backend_util } from '@tensorflow/tfjs-core';
import { OnnxType, type ConstTensor, type OnnxGraph, type OnnxNode } from './onnxModel';
import { OrtOp } from './session';

const F = OnnxType.FLOAT;
const I64 = OnnxType.INT64 as const;
const NCHWC = 'com.microsoft.nchwc';

let block: number | undefined;

/**
 * MLAS's NCHWc block size on this CPU, 0 where the NCHWc ops do not run. Measured once: ReorderInput
 * pads the channel axis up to a whole block, so 4 channels in give the block size out.
 */
export function nchwcBlockSize(): number {
  if (block !== undefined) return block;
  try {
    const op = new OrtOp({
      name: 'nchwc_probe',
      nodes: [{ op: 'ReorderInput', domain: NCHWC, inputs: ['x'], outputs: ['y'], attrs: { channels_last: 1 } }],
      inputs: [{ name: 'x', type: F, shape: [1, 1, 1, 4] }],
      outputs: [{ name: 'y', type: F, shape: [1, 'c', 1, 1] }],
    });
    const out = op.runAllocating({ x: { type: 'float32', data: new Float32Array(4), dims: [1, 1, 1, 4], location: 'cpu' } });
    op.dispose();
    const b = out.y.dims[1];
    block = Number.isInteger(b) && b >= 4 ? b : 0;
  } catch {
    block = 0;
  }
  return block;
}

/** The block size when this convolution's channels fit the NCHWc kernels, else 0. */
export function nchwcBlockFor(info: backend_util.Conv2DInfo): number {
  const b = nchwcBlockSize();
  return b > 0 && info.inChannels % b === 0 && info.outChannels % b === 0 ? b : 0;
}

/**
 * Nodes turning a tfjs filter [kh, kw, Ci, Co] into NchwcConv's blocked [Co/B, Ci/B, kh, kw, Bi, Bo]
 * (MLAS's OIHWBiBo), shaped as [Co, Ci, kh, kw]. `asInputGrad`: the filter of the input gradient,
 * spatially flipped with in and out swapped ([Ci/B, Co/B, kh, kw, Bo, Bi] of the original).
 */
function blockedFilter(info: backend_util.Conv2DInfo, b: number, asInputGrad: boolean): { nodes: OnnxNode[]; initializers: ConstTensor[] } {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const initializers: ConstTensor[] = [
    { name: 'w_split', type: I64, dims: [6], values: [kh, kw, ci / b, b, co / b, b] },
    { name: 'w_blocked_shape', type: I64, dims: [4], values: asInputGrad ? [ci, co, kh, kw] : [co, ci, kh, kw] },
  ];
  const nodes: OnnxNode[] = [];
  let src = 'filter';
  if (asInputGrad) {
    initializers.push(
      { name: 'flip_starts', type: I64, dims: [2], values: [-1, -1] },
      { name: 'flip_ends', type: I64, dims: [2], values: [-(kh + 1), -(kw + 1)] },
      { name: 'flip_axes', type: I64, dims: [2], values: [0, 1] },
      { name: 'flip_steps', type: I64, dims: [2], values: [-1, -1] },
    );
    nodes.push({ op: 'Slice', inputs: ['filter', 'flip_starts', 'flip_ends', 'flip_axes', 'flip_steps'], outputs: ['w_flipped'] });
    src = 'w_flipped';
  }
  nodes.push(
    { op: 'Reshape', inputs: [src, 'w_split'], outputs: ['w6'] },
    { op: 'Transpose', inputs: ['w6'], outputs: ['w6_blocked'], attrs: { perm: asInputGrad ? [2, 4, 0, 1, 5, 3] : [4, 2, 0, 1, 3, 5] } },
    { op: 'Reshape', inputs: ['w6_blocked', 'w_blocked_shape'], outputs: ['w_blocked'] },
  );
  return { nodes, initializers };
}

/** ReorderInput → NchwcConv → ReorderOutput, in the tensors' own layout (NHWC or NCHW). */
function blockedConv(info: backend_util.Conv2DInfo, b: number, conv: { input: string; output: string; inShape: number[]; outShape: number[]; outChannels: number; pads: number[]; strides: number[]; asInputGrad: boolean; bias: boolean; relu: boolean }): OnnxGraph {
  const channelsLast = info.dataFormat === 'channelsFirst' ? 0 : 1;
  const filter = blockedFilter(info, b, conv.asInputGrad);
  const attrs: Record<string, number[] | number | string> = { kernel_shape: [info.filterHeight, info.filterWidth], strides: conv.strides, dilations: [info.dilationHeight, info.dilationWidth], pads: conv.pads };
  if (conv.relu) attrs.activation = 'Relu';
  return {
    name: conv.asInputGrad ? 'conv2d_input_grad_nchwc' : 'conv2d_nchwc',
    nodes: [
      ...filter.nodes,
      { op: 'ReorderInput', domain: NCHWC, inputs: [conv.input], outputs: ['in_blocked'], attrs: { channels_last: channelsLast } },
      { op: 'Conv', domain: NCHWC, inputs: conv.bias ? ['in_blocked', 'w_blocked', 'bias'] : ['in_blocked', 'w_blocked'], outputs: ['out_blocked'], attrs },
      { op: 'ReorderOutput', domain: NCHWC, inputs: ['out_blocked'], outputs: [conv.output], attrs: { channels: conv.outChannels, channels_last: channelsLast } },
    ],
    initializers: filter.initializers,
    inputs: [
      { name: conv.input, type: F, shape: conv.inShape },
      { name: 'filter', type: F, shape: [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels] },
      ...(conv.bias ? [{ name: 'bias', type: F, shape: [info.outChannels] }] : []),
    ],
    outputs: [{ name: conv.output, type: F, shape: conv.outShape }],
  };
}

/** Conv2D (optionally with bias and ReLU) on the NCHWc kernels: x, filter [, bias] → y. */
export function nchwcConvGraph(info: backend_util.Conv2DInfo, b: number, pads: [number, number, number, number], bias = false, relu = false): OnnxGraph {
  return blockedConv(info, b, { input: 'x', output: 'y', inShape: info.inShape, outShape: info.outShape, outChannels: info.outChannels, pads, strides: [info.strideHeight, info.strideWidth], asInputGrad: false, bias, relu });
}

/**
 * Conv2DBackpropInput of a stride-1 convolution on the NCHWc kernels: dy, filter → dx, the full
 * correlation of dy with the flipped, in/out-swapped filter (`pads` from inputGradAsConvPads).
 */
export function nchwcInputGradGraph(info: backend_util.Conv2DInfo, b: number, pads: [number, number, number, number]): OnnxGraph {
  return blockedConv(info, b, { input: 'dy', output: 'dx', inShape: info.outShape, outShape: info.inShape, outChannels: info.inChannels, pads, strides: [1, 1], asInputGrad: true, bias: false, relu: false });
}
