/**
 * Conv2DBackpropFilter of a stride-1 NHWC convolution as one GEMM per filter tap over shifted,
 * zero-copy views of the input ("padded grid").
 *
 * Lay the input, padded, on a grid of Hp x Wp = (Ho + kh - 1) x (Wo + kw - 1) pixels per image,
 * and dy on the same grid (its Ho x Wo pixels top-left, zeros in the last kh - 1 rows and kw - 1
 * columns). Flatten both over (image, row, column) into R = N·Hp·Wp positions. The pixel tap
 * (i, j) reads for the output at position p is at p + i·Wp + j, in the same image and never
 * across a row end (p's column is below Wo), so with the input transposed to channels-major
 * Xᵀ [Ci, R],
 *
 *     dW[i, j] = Xᵀ[:, off .. off + R) · dy [R, Co],   off = i·Wp + j,
 *
 * where Xᵀ[:, off .. off + R) is the [Ci, R] matrix that starts `off` floats into Xᵀ's buffer: row
 * c runs past its own channel into the start of channel c + 1 (or a tail of zeros after the last
 * channel) for its last `off` positions, which meet dy's zero rows (the grid's last kh - 1 rows and
 * kw - 1 columns are the last off_max = (kh - 1)·Wp + kw - 1 positions). So every tap is a plain GEMM
 * on a view of one buffer: no copy per tap, and a row-major A that MLAS reads without packing.
 * The grid adds (Hp·Wp) / (Ho·Wo) - 1 work (13% at 32x32, 27% at 16x16, 125% at 4x4): used where
 * that stays under `maxOverhead`.
 */
import type { backend_util } from '@tensorflow/tfjs-core';
import { OnnxType, type OnnxGraph } from './onnxModel';

const F = OnnxType.FLOAT;
const I64 = OnnxType.INT64 as const;

/** Filter gradients computed on the grid in this process (tests check the path ran). */
export const gridStats = { runs: 0 };

/**
 * The grid's extra work above which the strided-slice GEMMs are as fast: its layout pass (a pad
 * and a transpose of x, a pad of dy) costs what the views save at 16x16 (1.27: 32.9 against
 * 32.0 ms), while at 32x32 (1.13) the grid takes 40 ms against 61 (bench/engine/convKernels.ts).
 */
let maxOverhead = 1.2;

/** Change the overhead limit (tests force the grid onto every stride-1 case; bench compares). Returns the old one. */
export function setGridMaxOverhead(limit: number): number {
  const old = maxOverhead;
  maxOverhead = limit;
  return old;
}

export interface GridPlan {
  /** Grid rows and columns per image. */
  hp: number;
  wp: number;
  /** Grid positions in all (N·Hp·Wp): the GEMMs' inner dimension. */
  rows: number;
  /** Each tap's offset into Xᵀ's buffer, in (i, j) order: the filter gradient's own row order. */
  offsets: number[];
  /** Zeros after Xᵀ's last channel that the last row of the largest offset reads. */
  tail: number;
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
  if ((hp * wp) / (ho * wo) > maxOverhead) return undefined;
  const offsets: number[] = [];
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) offsets.push(i * wp + j);
  return { hp, wp, rows: n * hp * wp, offsets, tail: (kh - 1) * wp + kw - 1, pads: [top, left, bottom, right] };
}

/** x [N,H,W,Ci] → xt [Ci, R] (padded onto the grid, channels first); dy [N,Ho,Wo,Co] → dyGrid [R, Co]. */
export function gridLayoutGraph(info: backend_util.Conv2DInfo, plan: GridPlan): OnnxGraph {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const [top, left, bottom, right] = plan.pads;
  return {
    name: 'conv2d_filter_grad_grid_layout',
    nodes: [
      { op: 'Pad', inputs: ['x', 'x_pads'], outputs: ['xp'] },
      { op: 'Transpose', inputs: ['xp'], outputs: ['xp_t'], attrs: { perm: [3, 0, 1, 2] } },
      { op: 'Reshape', inputs: ['xp_t', 'xt_shape'], outputs: ['xt'] },
      { op: 'Pad', inputs: ['dy', 'dy_pads'], outputs: ['dyp'] },
      { op: 'Reshape', inputs: ['dyp', 'dy_shape'], outputs: ['dy_grid'] },
    ],
    initializers: [
      { name: 'x_pads', type: I64, dims: [8], values: [0, top, left, 0, 0, bottom, right, 0] },
      { name: 'dy_pads', type: I64, dims: [8], values: [0, 0, 0, 0, 0, kh - 1, kw - 1, 0] },
      { name: 'xt_shape', type: I64, dims: [2], values: [ci, plan.rows] },
      { name: 'dy_shape', type: I64, dims: [2], values: [plan.rows, co] },
    ],
    inputs: [
      { name: 'x', type: F, shape: info.inShape },
      { name: 'dy', type: F, shape: info.outShape },
    ],
    outputs: [
      { name: 'xt', type: F, shape: [ci, plan.rows] },
      { name: 'dy_grid', type: F, shape: [plan.rows, co] },
    ],
  };
}

/** Inputs a0..a{T-1} (the views, [Ci, R]) and dy_grid [R, Co] → one [Ci, Co] output per tap, dw0..dw{T-1}. */
export function gridTapsGraph(info: backend_util.Conv2DInfo, plan: GridPlan): OnnxGraph {
  const { inChannels: ci, outChannels: co } = info;
  const taps = plan.offsets.map((_, t) => t);
  return {
    name: 'conv2d_filter_grad_grid_taps',
    nodes: taps.map((t) => ({ op: 'Gemm', inputs: [`a${t}`, 'dy_grid'], outputs: [`dw${t}`] })),
    inputs: [...taps.map((t) => ({ name: `a${t}`, type: F, shape: [ci, plan.rows] })), { name: 'dy_grid', type: F, shape: [plan.rows, co] }],
    outputs: taps.map((t) => ({ name: `dw${t}`, type: F, shape: [ci, co] })),
  };
}
