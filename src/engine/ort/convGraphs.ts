/**
 * ONNX graphs for one convolution, its input gradient and its filter gradient, on TensorFlow.js
 * layouts (NHWC activations or NCHW, HWIO filters [kh,kw,in,out]).
 *
 * ONNX convolutions are NCHW with OIHW filters; the layout changes are Transpose nodes inside the
 * graph, so onnxruntime fuses them into its own NCHWc reorders where it can, and the tfjs side
 * never copies.
 */
import type { backend_util } from '@tensorflow/tfjs-core';
import { OnnxType, type OnnxGraph, type OnnxNode } from './onnxModel';

const F = OnnxType.FLOAT;

/** Paddings [top, left, bottom, right] that make ONNX's floor-rounded output size equal tfjs'. */
export function onnxConvPads(inSize: number, outSize: number, effectiveKernel: number, stride: number, before: number): [number, number] | undefined {
  // ONNX: out = floor((in + before + after - k) / stride) + 1; any `after` in this range gives outSize.
  const lo = (outSize - 1) * stride + effectiveKernel - inSize - before;
  const hi = outSize * stride + effectiveKernel - inSize - before - 1;
  const after = Math.max(0, lo);
  if (before < 0 || after > hi) return undefined;
  return [before, after];
}

/** Conv2D: x (NHWC or NCHW) and filter [kh,kw,Ci,Co] → y in x's layout. */
export function conv2dGraph(info: backend_util.Conv2DInfo, pads: [number, number, number, number], bias = false, relu = false): OnnxGraph {
  const channelsFirst = info.dataFormat === 'channelsFirst';
  const xShape = channelsFirst ? [info.batchSize, info.inChannels, info.inHeight, info.inWidth] : [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
  const nodes: OnnxNode[] = [];
  const xIn = channelsFirst ? 'x' : 'x_nchw';
  if (!channelsFirst) nodes.push({ op: 'Transpose', inputs: ['x'], outputs: ['x_nchw'], attrs: { perm: [0, 3, 1, 2] } });
  nodes.push({ op: 'Transpose', inputs: ['filter'], outputs: ['w_oihw'], attrs: { perm: [3, 2, 0, 1] } });
  const convOut = relu ? 'conv' : channelsFirst ? 'y' : 'y_nchw';
  nodes.push({
    op: 'Conv',
    inputs: bias ? [xIn, 'w_oihw', 'bias'] : [xIn, 'w_oihw'],
    outputs: [convOut],
    attrs: { kernel_shape: [info.filterHeight, info.filterWidth], strides: [info.strideHeight, info.strideWidth], dilations: [info.dilationHeight, info.dilationWidth], pads },
  });
  if (relu) nodes.push({ op: 'Relu', inputs: ['conv'], outputs: [channelsFirst ? 'y' : 'y_nchw'] });
  if (!channelsFirst) nodes.push({ op: 'Transpose', inputs: ['y_nchw'], outputs: ['y'], attrs: { perm: [0, 2, 3, 1] } });
  return {
    name: 'conv2d',
    nodes,
    inputs: [
      { name: 'x', type: F, shape: xShape },
      { name: 'filter', type: F, shape: [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels] },
      ...(bias ? [{ name: 'bias', type: F, shape: [info.outChannels] }] : []),
    ],
    outputs: [{ name: 'y', type: F, shape: info.outShape }],
  };
}

/**
 * Conv2DBackpropInput as ONNX ConvTranspose (whose weight layout [Co, Ci, kh, kw] is the forward
 * convolution's). `pads` are the forward paddings; rows the forward convolution never read come
 * back through `output_padding`.
 */
export function conv2dInputGradGraph(info: backend_util.Conv2DInfo, pads: [number, number, number, number], outputPadding: [number, number]): OnnxGraph {
  const channelsFirst = info.dataFormat === 'channelsFirst';
  const dyShape = info.outShape;
  const nodes: OnnxNode[] = [];
  const dyIn = channelsFirst ? 'dy' : 'dy_nchw';
  if (!channelsFirst) nodes.push({ op: 'Transpose', inputs: ['dy'], outputs: ['dy_nchw'], attrs: { perm: [0, 3, 1, 2] } });
  nodes.push({ op: 'Transpose', inputs: ['filter'], outputs: ['w_oihw'], attrs: { perm: [3, 2, 0, 1] } });
  nodes.push({
    op: 'ConvTranspose',
    inputs: [dyIn, 'w_oihw'],
    outputs: [channelsFirst ? 'dx' : 'dx_nchw'],
    attrs: { kernel_shape: [info.filterHeight, info.filterWidth], strides: [info.strideHeight, info.strideWidth], dilations: [info.dilationHeight, info.dilationWidth], pads, output_padding: outputPadding },
  });
  if (!channelsFirst) nodes.push({ op: 'Transpose', inputs: ['dx_nchw'], outputs: ['dx'], attrs: { perm: [0, 2, 3, 1] } });
  return {
    name: 'conv2d_input_grad',
    nodes,
    inputs: [
      { name: 'dy', type: F, shape: dyShape },
      { name: 'filter', type: F, shape: [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels] },
    ],
    outputs: [{ name: 'dx', type: F, shape: info.inShape }],
  };
}

/**
 * Conv2DBackpropFilter as an ONNX Conv with batch and channels swapped (see
 * kernels/conv2dBackpropFilter.ts): x as [Ci,N,H,W], dy as the filter [Co,N,Ho,Wo], the forward
 * stride as the dilation → [Ci,Co,kh,kw] → [kh,kw,Ci,Co].
 */
export function conv2dFilterGradGraph(info: backend_util.Conv2DInfo): OnnxGraph | undefined {
  const channelsFirst = info.dataFormat === 'channelsFirst';
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  let bottom = kh + (outHeight - 1) * sh - inHeight - top;
  let right = kw + (outWidth - 1) * sw - inWidth - left;
  if (top < 0 || left < 0) return undefined;
  const nodes: OnnxNode[] = [
    { op: 'Transpose', inputs: ['x'], outputs: ['x_cnhw'], attrs: { perm: channelsFirst ? [1, 0, 2, 3] : [3, 0, 1, 2] } },
    { op: 'Transpose', inputs: ['dy'], outputs: ['dy_cnhw'], attrs: { perm: channelsFirst ? [1, 0, 2, 3] : [3, 0, 1, 2] } },
  ];
  let xIn = 'x_cnhw';
  const initializers = [];
  if (bottom < 0 || right < 0) {
    // Rows and columns the forward convolution never read: crop them.
    const keepH = inHeight + Math.min(0, bottom);
    const keepW = inWidth + Math.min(0, right);
    initializers.push(
      { name: 'crop_starts', type: OnnxType.INT64 as const, dims: [2], values: [0, 0] },
      { name: 'crop_ends', type: OnnxType.INT64 as const, dims: [2], values: [keepH, keepW] },
      { name: 'crop_axes', type: OnnxType.INT64 as const, dims: [2], values: [2, 3] },
    );
    nodes.push({ op: 'Slice', inputs: ['x_cnhw', 'crop_starts', 'crop_ends', 'crop_axes'], outputs: ['x_crop'] });
    xIn = 'x_crop';
    bottom = Math.max(0, bottom);
    right = Math.max(0, right);
  }
  nodes.push(
    { op: 'Conv', inputs: [xIn, 'dy_cnhw'], outputs: ['dw_iohw'], attrs: { kernel_shape: [outHeight, outWidth], strides: [1, 1], dilations: [sh, sw], pads: [top, left, bottom, right] } },
    { op: 'Transpose', inputs: ['dw_iohw'], outputs: ['dw'], attrs: { perm: [2, 3, 0, 1] } },
  );
  return {
    name: 'conv2d_filter_grad',
    nodes,
    initializers,
    inputs: [
      { name: 'x', type: F, shape: info.inShape },
      { name: 'dy', type: F, shape: info.outShape },
    ],
    outputs: [{ name: 'dw', type: F, shape: [kh, kw, info.inChannels, info.outChannels] }],
  };
}

/**
 * Conv2DBackpropFilter for NHWC as one GEMM per filter tap: tap (i, j) of the HWIO filter is
 * dW[i,j] = X(i,j)ᵀ · dy, where X(i,j) [N·Ho·Wo, Ci] is the padded input's strided slice that tap
 * reads and dy is [N·Ho·Wo, Co]; the kh·kw products stacked are the filter gradient's own layout,
 * so nothing is transposed. Faster than one GEMM over the concatenated slices (im2col), whose
 * interleaving copy cost more than the GEMM on ResNet-18's 32x32 layers (BENCHMARKS.md).
 */
export function conv2dFilterGradTapsGraph(info: backend_util.Conv2DInfo): OnnxGraph | undefined {
  if (info.dataFormat === 'channelsFirst') return undefined;
  const { batchSize: n, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, inChannels: ci, outChannels: co, outHeight: ho, outWidth: wo } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const bottom = Math.max(0, kh + (ho - 1) * sh - inHeight - top);
  const right = Math.max(0, kw + (wo - 1) * sw - inWidth - left);
  const I64 = OnnxType.INT64 as const;
  const nodes: OnnxNode[] = [
    { op: 'Pad', inputs: ['x', 'pads'], outputs: ['xp'] },
    { op: 'Reshape', inputs: ['dy', 'dy_shape'], outputs: ['dy2'] },
  ];
  const initializers = [
    { name: 'pads', type: I64, dims: [8], values: [0, top, left, 0, 0, bottom, right, 0] },
    { name: 'axes', type: I64, dims: [2], values: [1, 2] },
    { name: 'steps', type: I64, dims: [2], values: [sh, sw] },
    { name: 'rows_shape', type: I64, dims: [2], values: [n * ho * wo, ci] },
    { name: 'dy_shape', type: I64, dims: [2], values: [n * ho * wo, co] },
    { name: 'dw_shape', type: I64, dims: [4], values: [kh, kw, ci, co] },
  ];
  const taps: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const name = `tap_${i}_${j}`;
      initializers.push({ name: `${name}_starts`, type: I64, dims: [2], values: [i, j] }, { name: `${name}_ends`, type: I64, dims: [2], values: [i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1] });
      nodes.push(
        { op: 'Slice', inputs: ['xp', `${name}_starts`, `${name}_ends`, 'axes', 'steps'], outputs: [name] },
        { op: 'Reshape', inputs: [name, 'rows_shape'], outputs: [`${name}_rows`] },
        { op: 'Gemm', inputs: [`${name}_rows`, 'dy2'], outputs: [`${name}_dw`], attrs: { transA: 1 } },
      );
      taps.push(`${name}_dw`);
    }
  }
  nodes.push({ op: 'Concat', inputs: taps, outputs: ['dw_taps'], attrs: { axis: 0 } }, { op: 'Reshape', inputs: ['dw_taps', 'dw_shape'], outputs: ['dw'] });
  return {
    name: 'conv2d_filter_grad_taps',
    nodes,
    initializers,
    inputs: [
      { name: 'x', type: F, shape: info.inShape },
      { name: 'dy', type: F, shape: info.outShape },
    ],
    outputs: [{ name: 'dw', type: F, shape: [kh, kw, ci, co] }],
  };
}

/**
 * Paddings [top, left, bottom, right] of the input gradient of a stride-1 convolution computed as
 * a forward one (the full correlation of dy with the flipped filter); undefined for other strides
 * and dilations, or when a padding comes out negative.
 */
export function inputGradAsConvPads(info: backend_util.Conv2DInfo): [number, number, number, number] | undefined {
  const { filterHeight: kh, filterWidth: kw, inHeight, inWidth, outHeight, outWidth } = info;
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = inHeight - outHeight + kh - 1 - top;
  const right = inWidth - outWidth + kw - 1 - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return undefined;
  return [top, left, bottom, right];
}

/**
 * Conv2DBackpropInput of a stride-1 convolution as a forward Conv: the full correlation of dy
 * with the spatially flipped filter whose in/out channels are swapped (Dumoulin & Visin,
 * arXiv:1603.07285, §4.1). onnxruntime's ConvTranspose is a GEMM followed by a single-threaded
 * col2im; its Conv is the faster kernel. Undefined when the paddings come out negative.
 */
export function conv2dInputGradAsConvGraph(info: backend_util.Conv2DInfo): OnnxGraph | undefined {
  const { filterHeight: kh, filterWidth: kw } = info;
  const pads = inputGradAsConvPads(info);
  if (!pads) return undefined;
  const channelsFirst = info.dataFormat === 'channelsFirst';
  const I64 = OnnxType.INT64 as const;
  const nodes: OnnxNode[] = [];
  const dyIn = channelsFirst ? 'dy' : 'dy_nchw';
  if (!channelsFirst) nodes.push({ op: 'Transpose', inputs: ['dy'], outputs: ['dy_nchw'], attrs: { perm: [0, 3, 1, 2] } });
  nodes.push(
    // [kh,kw,Ci,Co] → [Ci,Co,kh,kw], then reverse both spatial axes.
    { op: 'Transpose', inputs: ['filter'], outputs: ['w_iohw'], attrs: { perm: [2, 3, 0, 1] } },
    { op: 'Slice', inputs: ['w_iohw', 'flip_starts', 'flip_ends', 'flip_axes', 'flip_steps'], outputs: ['w_flipped'] },
    { op: 'Conv', inputs: [dyIn, 'w_flipped'], outputs: [channelsFirst ? 'dx' : 'dx_nchw'], attrs: { kernel_shape: [kh, kw], strides: [1, 1], dilations: [1, 1], pads } },
  );
  if (!channelsFirst) nodes.push({ op: 'Transpose', inputs: ['dx_nchw'], outputs: ['dx'], attrs: { perm: [0, 2, 3, 1] } });
  return {
    name: 'conv2d_input_grad_as_conv',
    nodes,
    initializers: [
      { name: 'flip_starts', type: I64, dims: [2], values: [-1, -1] },
      { name: 'flip_ends', type: I64, dims: [2], values: [-(kh + 1), -(kw + 1)] },
      { name: 'flip_axes', type: I64, dims: [2], values: [2, 3] },
      { name: 'flip_steps', type: I64, dims: [2], values: [-1, -1] },
    ],
    inputs: [
      { name: 'dy', type: F, shape: info.outShape },
      { name: 'filter', type: F, shape: [kh, kw, info.inChannels, info.outChannels] },
    ],
    outputs: [{ name: 'dx', type: F, shape: info.inShape }],
  };
}

/** True for a 1x1 NHWC convolution without padding or dilation: a matrix product per pixel. */
export function isPointwise(info: backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return info.dataFormat === 'channelsLast' && info.filterHeight === 1 && info.filterWidth === 1 && p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0;
}

/**
 * A 1x1 NHWC convolution as one MatMul over pixels, with a strided Slice first when the stride is
 * not 1: no layout change at all (a Transpose + Conv would move the whole input twice).
 */
export function pointwiseConvGraph(info: backend_util.Conv2DInfo): OnnxGraph {
  const { batchSize: n, outHeight: ho, outWidth: wo, inChannels: ci, outChannels: co, strideHeight: sh, strideWidth: sw } = info;
  const I64 = OnnxType.INT64 as const;
  const nodes: OnnxNode[] = [];
  const initializers = [
    { name: 'rows_shape', type: I64, dims: [2], values: [n * ho * wo, ci] },
    { name: 'w_shape', type: I64, dims: [2], values: [ci, co] },
    { name: 'y_shape', type: I64, dims: [4], values: info.outShape },
  ];
  let x = 'x';
  if (sh !== 1 || sw !== 1) {
    initializers.push(
      { name: 'sub_starts', type: I64, dims: [2], values: [0, 0] },
      { name: 'sub_ends', type: I64, dims: [2], values: [(ho - 1) * sh + 1, (wo - 1) * sw + 1] },
      { name: 'sub_axes', type: I64, dims: [2], values: [1, 2] },
      { name: 'sub_steps', type: I64, dims: [2], values: [sh, sw] },
    );
    nodes.push({ op: 'Slice', inputs: ['x', 'sub_starts', 'sub_ends', 'sub_axes', 'sub_steps'], outputs: ['x_sub'] });
    x = 'x_sub';
  }
  nodes.push(
    { op: 'Reshape', inputs: [x, 'rows_shape'], outputs: ['rows'] },
    { op: 'Reshape', inputs: ['filter', 'w_shape'], outputs: ['w2'] },
    { op: 'MatMul', inputs: ['rows', 'w2'], outputs: ['y2'] },
    { op: 'Reshape', inputs: ['y2', 'y_shape'], outputs: ['y'] },
  );
  return {
    name: 'conv2d_pointwise',
    nodes,
    initializers,
    inputs: [
      { name: 'x', type: F, shape: info.inShape },
      { name: 'filter', type: F, shape: [1, 1, ci, co] },
    ],
    outputs: [{ name: 'y', type: F, shape: info.outShape }],
  };
}

/**
 * The input gradient of a 1x1 NHWC convolution: dy · Wᵀ per pixel (one Gemm), spread back onto
 * the strided pixel grid with zeros in between (Reshape + Pad + Reshape), cropped to the input.
 */
export function pointwiseInputGradGraph(info: backend_util.Conv2DInfo): OnnxGraph {
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: ho, outWidth: wo, inChannels: ci, outChannels: co, strideHeight: sh, strideWidth: sw } = info;
  const I64 = OnnxType.INT64 as const;
  const initializers = [
    { name: 'dy_shape', type: I64, dims: [2], values: [n * ho * wo, co] },
    { name: 'w_shape', type: I64, dims: [2], values: [ci, co] },
  ];
  const nodes: OnnxNode[] = [
    { op: 'Reshape', inputs: ['dy', 'dy_shape'], outputs: ['dy2'] },
    { op: 'Reshape', inputs: ['filter', 'w_shape'], outputs: ['w2'] },
    { op: 'Gemm', inputs: ['dy2', 'w2'], outputs: ['dx2'], attrs: { transB: 1 } },
  ];
  if (sh === 1 && sw === 1) {
    initializers.push({ name: 'dx_shape', type: I64, dims: [4], values: info.inShape });
    nodes.push({ op: 'Reshape', inputs: ['dx2', 'dx_shape'], outputs: ['dx'] });
  } else {
    initializers.push(
      { name: 'spread_shape', type: I64, dims: [6], values: [n, ho, 1, wo, 1, ci] },
      { name: 'spread_pads', type: I64, dims: [12], values: [0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1, 0] },
      { name: 'grid_shape', type: I64, dims: [4], values: [n, ho * sh, wo * sw, ci] },
      { name: 'crop_starts', type: I64, dims: [2], values: [0, 0] },
      { name: 'crop_ends', type: I64, dims: [2], values: [h, w] },
      { name: 'crop_axes', type: I64, dims: [2], values: [1, 2] },
    );
    nodes.push(
      { op: 'Reshape', inputs: ['dx2', 'spread_shape'], outputs: ['spread'] },
      { op: 'Pad', inputs: ['spread', 'spread_pads'], outputs: ['spread_padded'] },
      { op: 'Reshape', inputs: ['spread_padded', 'grid_shape'], outputs: ['grid'] },
      { op: 'Slice', inputs: ['grid', 'crop_starts', 'crop_ends', 'crop_axes'], outputs: ['dx'] },
    );
  }
  return {
    name: 'conv2d_pointwise_input_grad',
    nodes,
    initializers,
    inputs: [
      { name: 'dy', type: F, shape: info.outShape },
      { name: 'filter', type: F, shape: [1, 1, ci, co] },
    ],
    outputs: [{ name: 'dx', type: F, shape: info.inShape }],
  };
}
