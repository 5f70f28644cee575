/**
 * Conv2DBackpropFilter of a stride-1 NHWC convolution as one batched GEMM per filter tap over
 * shifted, zero-copy views of the input ("padded grid").
 *
 * Lay each image, padded, on a grid of Hp x Wp = (Ho + kh - 1) x (Wo + kw - 1) pixels, channels
 * first, S = Hp·Wp positions per channel: X [N, Ci, S]; and dy on the same grid, channels last: dy
 * [N, S, Co] (its Ho x Wo pixels top-left, zeros in the last kh - 1 rows and kw - 1 columns). The
 * pixel tap (i, j) reads for the output at position p is at p + i·Wp + j, in the same image and
 * channel and never across a row end (p's column is below Wo), so
 *
 *     dW[i, j] = Σ_n X[n][:, off .. off + S) · dy[n],   off = i·Wp + j,
 *
 * where X[n][:, off .. off + S) is the [Ci, S] matrix that starts `off` floats into channel 0 of
 * image n: row c runs past its own channel into the start of the next (or a tail of zeros after the
 * last image) for its last `off` positions, which meet dy's zero rows (the grid's last kh - 1 rows
 * and kw - 1 columns are the last off_max = (kh - 1)·Wp + kw - 1 positions). So every tap is one
 * batched MatMul on a view of one buffer ([N, Ci, S] starting `off` floats in): no copy per tap,
 * then a sum over the images. Per image, not as one [Ci, N·S] x [N·S, Co] GEMM: MLAS runs that
 * long-K product at about half the batched one's speed (ResNet-18's 32x32 layer in
 * bench/engine/convKernels.ts: 48.7 ms for the whole filter gradient that way, 36.6 batched), and
 * the batched one splits over threads by image.
 *
 * The grid adds (Hp·Wp) / (Ho·Wo) - 1 work (13% at 32x32, 27% at 16x16, 56% at 8x8, 125% at 4x4):
 * used where that stays under `maxOverhead`. The per-image products [N, Ci, Co] are summed in
 * chunks of images small enough to keep them bounded (`maxPartialFloats`).
 */
import type { backend_util } from '@tensorflow/tfjs-core';
import { OnnxType, type OnnxGraph } from './onnxModel';

const F = OnnxType.FLOAT;
const I64 = OnnxType.INT64 as const;

/** Filter gradients computed on the grid in this process (tests check the path ran). */
export const gridStats = { runs: 0 };

export interface GridLimits {
  /**
   * The grid's extra work above which the strided-slice GEMMs are faster. Inside a ResNet-18 step
   * (batch 64): at 32x32 (1.13) the layout pass takes 15 ms and the taps 26, against about 60 for
   * the slices; at 16x16 (1.27) 37 ms in all against the slices' 35 (BENCHMARKS.md).
   */
  maxOverhead: number;
  /** The most floats one tap's per-image products ([images, Ci, Co]) may take before they are summed. */
  maxPartialFloats: number;
}

let limits: GridLimits = { maxOverhead: 1.2, maxPartialFloats: 1 << 22 };

/** Change the limits (tests force the grid onto every stride-1 case and into chunks; bench compares). Returns the old ones. */
export function setGridLimits(change: Partial<GridLimits>): GridLimits {
  const old = limits;
  limits = { ...limits, ...change };
  return old;
}

export interface GridPlan {
  /** Grid rows and columns per image. */
  hp: number;
  wp: number;
  /** Grid positions per image and channel (Hp·Wp): the GEMMs' inner dimension. */
  rows: number;
  /** Each tap's offset into X's buffer, in (i, j) order: the filter gradient's own row order. */
  offsets: number[];
  /** Zeros after X's last image that the last row of the largest offset reads. */
  tail: number;
  /** Images per batched product: chunks of this many (the last may be smaller) keep the partial sums bounded. */
  chunk: number;
  /** The input's paddings on the grid [top, left, bottom, right] (bottom and right fill it to Hp x Wp). */
  pads: [number, number, number, number];
}

/** The grid for this convolution, or undefined where it does not apply or costs too much. */
export function gridPlan(info: backend_util.Conv2DInfo): GridPlan | undefined {
  const { batchSize: n, filterHeight: kh, filterWidth: kw, inHeight, inWidth, outHeight: ho, outWidth: wo } = info;
  // A 1x1 filter has one tap and no slice to save: its single GEMM on x as it is is 2-3x faster.
  if (kh * kw === 1) return undefined;
  if (info.dataFormat !== 'channelsLast' || info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  const hp = ho + kh - 1;
  const wp = wo + kw - 1;
  const { top, left } = info.padInfo;
  const bottom = hp - inHeight - top;
  const right = wp - inWidth - left;
  // Negative: the convolution never reads some input rows or columns (a crop, not a pad).
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return undefined;
  if ((hp * wp) / (ho * wo) > limits.maxOverhead) return undefined;
  const offsets: number[] = [];
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) offsets.push(i * wp + j);
  const chunk = Math.max(1, Math.min(n, Math.floor(limits.maxPartialFloats / (info.inChannels * info.outChannels))));
  return { hp, wp, rows: hp * wp, offsets, tail: (kh - 1) * wp + kw - 1, chunk, pads: [top, left, bottom, right] };
}

/** The image ranges [start, count] of the batched products. */
export function gridChunks(n: number, plan: GridPlan): Array<[number, number]> {
  const chunks: Array<[number, number]> = [];
  for (let start = 0; start < n; start += plan.chunk) chunks.push([start, Math.min(plan.chunk, n - start)]);
  return chunks;
}

/** x [N,H,W,Ci] → xt [N, Ci, S] (padded onto the grid, channels first); dy [N,Ho,Wo,Co] → dyGrid [N, S, Co]. */
export function gridLayoutGraph(info: backend_util.Conv2DInfo, plan: GridPlan): OnnxGraph {
  const { batchSize: n, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const [top, left, bottom, right] = plan.pads;
  return {
    name: 'conv2d_filter_grad_grid_layout',
    nodes: [
      { op: 'Pad', inputs: ['x', 'x_pads'], outputs: ['xp'] },
      { op: 'Transpose', inputs: ['xp'], outputs: ['xp_t'], attrs: { perm: [0, 3, 1, 2] } },
      { op: 'Reshape', inputs: ['xp_t', 'xt_shape'], outputs: ['xt'] },
      { op: 'Pad', inputs: ['dy', 'dy_pads'], outputs: ['dyp'] },
      { op: 'Reshape', inputs: ['dyp', 'dy_shape'], outputs: ['dy_grid'] },
    ],
    initializers: [
      { name: 'x_pads', type: I64, dims: [8], values: [0, top, left, 0, 0, bottom, right, 0] },
      { name: 'dy_pads', type: I64, dims: [8], values: [0, 0, 0, 0, 0, kh - 1, kw - 1, 0] },
      { name: 'xt_shape', type: I64, dims: [3], values: [n, ci, plan.rows] },
      { name: 'dy_shape', type: I64, dims: [3], values: [n, plan.rows, co] },
    ],
    inputs: [
      { name: 'x', type: F, shape: info.inShape },
      { name: 'dy', type: F, shape: info.outShape },
    ],
    outputs: [
      { name: 'xt', type: F, shape: [n, ci, plan.rows] },
      { name: 'dy_grid', type: F, shape: [n, plan.rows, co] },
    ],
  };
}

/**
 * Inputs a{c}_{t} (chunk c's view for tap t, [images, Ci, S]) and dy{c} (its dy, [images, S, Co])
 * → one [Ci, Co] output per tap, dw0..dw{T-1}: the batched products, summed over chunks and images.
 */
export function gridTapsGraph(info: backend_util.Conv2DInfo, plan: GridPlan): OnnxGraph {
  const { inChannels: ci, outChannels: co } = info;
  const chunks = gridChunks(info.batchSize, plan);
  const nodes: OnnxGraph['nodes'] = [];
  const inputs: OnnxGraph['inputs'] = [];
  chunks.forEach(([, count], c) => {
    inputs.push({ name: `dy${c}`, type: F, shape: [count, plan.rows, co] });
    plan.offsets.forEach((_, t) => {
      inputs.push({ name: `a${c}_${t}`, type: F, shape: [count, ci, plan.rows] });
      nodes.push({ op: 'MatMul', inputs: [`a${c}_${t}`, `dy${c}`], outputs: [`p${c}_${t}`] });
      nodes.push({ op: 'ReduceSum', inputs: [`p${c}_${t}`, 'image_axis'], outputs: [chunks.length === 1 ? `dw${t}` : `s${c}_${t}`], attrs: { keepdims: 0 } });
    });
  });
  if (chunks.length > 1) plan.offsets.forEach((_, t) => nodes.push({ op: 'Sum', inputs: chunks.map((__, c) => `s${c}_${t}`), outputs: [`dw${t}`] }));
  return {
    name: 'conv2d_filter_grad_grid_taps',
    nodes,
    initializers: [{ name: 'image_axis', type: I64, dims: [1], values: [0] }],
    inputs,
    outputs: plan.offsets.map((_, t) => ({ name: `dw${t}`, type: F, shape: [ci, co] })),
  };
}
