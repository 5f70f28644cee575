/**
 * Resampling a rectangle of an image to a new size, antialiased the way PIL resizes: separable
 * filters whose support widens by the shrink factor, so a strong reduction averages every source
 * pixel instead of skipping most of them (what torchvision's RandomResizedCrop gets from PIL).
 *
 * Taps are clamped to the rectangle, as when torchvision crops first and resizes the crop.
 */
import type { ImageTensor } from '../types';
import { rowDot } from './rowDot';
import { scratch } from './scratch';

type Pixels = Float32Array | Uint8Array;

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';

interface Filter {
  support: number;
  weight(x: number): number;
}

const FILTERS: Record<Exclude<Interpolation, 'nearest'>, Filter> = {
  bilinear: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  // Keys' cubic with a = -0.5, as PIL.
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
};

/** Per output index: the first source index, the number of taps, and normalised weights. */
interface Coefficients {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  stride: number;
}

/** PIL's `precompute_coeffs` for one axis: source span [lo, lo + len) onto `out` samples. */
function coefficients(lo: number, len: number, out: number, filter: Filter, limitLo: number, limitHi: number): Coefficients {
  const scale = len / out;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(out);
  const count = new Int32Array(out);
  const weights = new Float32Array(out * stride);
  for (let o = 0; o < out; o++) {
    const center = lo + (o + 0.5) * scale;
    const first = Math.max(Math.floor(center - support + 0.5), limitLo);
    const last = Math.min(Math.floor(center + support + 0.5), limitHi);
    let total = 0;
    let n = 0;
    for (let x = first; x < last && n < stride; x++, n++) {
      const w = filter.weight((x - center + 0.5) / filterScale);
      weights[o * stride + n] = w;
      total += w;
    }
    if (total !== 0) for (let k = 0; k < n; k++) weights[o * stride + k] /= total;
    start[o] = first;
    count[o] = n;
  }
  return { start, count, weights, stride };
}

/**
 * The rectangle [x0, x0 + cw) x [y0, y0 + ch) of `src` resampled to outW x outH (float HWC).
 * The rectangle must lie inside the image.
 */
export function resampleRect(src: ImageTensor, x0: number, y0: number, cw: number, ch: number, outW: number, outH: number, mode: Interpolation): Float32Array {
  if (mode === 'nearest') return nearest(src, x0, y0, cw, ch, outW, outH);
  const filter = FILTERS[mode];
  const C = src.channels;
  const xs = Math.floor(x0);
  const ys = Math.floor(y0);
  const cols = Math.ceil(cw);
  const v = coefficients(y0, ch, outH, filter, ys, ys + Math.ceil(ch));
  const h = coefficients(x0 - xs, cw, outW, filter, 0, cols);
  const sameX = cw === outW && x0 === xs;
  const sameY = ch === outH && y0 === ys;
  let out: Float32Array;
  if (sameX && sameY) {
    out = new Float32Array(outH * outW * C);
    for (let r = 0; r < outH; r++) out.set(src.data.subarray(((ys + r) * src.width + xs) * C, ((ys + r) * src.width + xs + outW) * C), r * outW * C);
  } else if (sameX) {
    out = verticalPass(src.data, src.width * C, xs * C, outW * C, outH, v, 0, new Float32Array(outH * outW * C));
  } else if (sameY) {
    out = horizontalPass(src.data, src.width, ys, ys + outH, xs, C, h, new Float32Array(outH * outW * C));
  } else if (ch > outH) {
    // Shrinking rows first leaves fewer rows for the (slower) per-pixel horizontal pass.
    const tmp = verticalPass(src.data, src.width * C, xs * C, cols * C, outH, v, 0, scratch('resample', outH * cols * C));
    out = horizontalPass(tmp, cols, 0, outH, 0, C, h, new Float32Array(outH * outW * C));
  } else {
    const rowLo = v.start[0];
    const rowHi = v.start[outH - 1] + v.count[outH - 1];
    const tmp = horizontalPass(src.data, src.width, rowLo, rowHi, xs, C, h, scratch('resample', (rowHi - rowLo) * outW * C));
    out = verticalPass(tmp, outW * C, 0, outW * C, outH, v, rowLo, new Float32Array(outH * outW * C));
  }
  // Cubic filters overshoot; PIL clips to the pixel range.
  if (mode === 'bicubic' && src.white !== undefined) {
    const hi = src.white;
    for (let i = 0; i < out.length; i++) out[i] = out[i] < 0 ? 0 : out[i] > hi ? hi : out[i];
  }
  return out;
}

/**
 * Rows [rowLo, rowHi) of an HWC array `width` pixels wide, filtered along x into `out`
 * ((rowHi - rowLo) x outW x C); `h` indexes columns from `colLo`.
 */
function horizontalPass(data: Pixels, width: number, rowLo: number, rowHi: number, colLo: number, C: number, h: Coefficients, out: Float32Array): Float32Array {
  const outW = h.start.length;
  const { start, count, weights, stride } = h;
  let o = 0;
  if (C === 3) {
    for (let r = rowLo; r < rowHi; r++) {
      const rowBase = (r * width + colLo) * 3;
      for (let x = 0; x < outW; x++) {
        let idx = rowBase + start[x] * 3;
        const wEnd = x * stride + count[x];
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        for (let k = x * stride; k < wEnd; k++, idx += 3) {
          const w = weights[k];
          a0 += data[idx] * w;
          a1 += data[idx + 1] * w;
          a2 += data[idx + 2] * w;
        }
        out[o++] = a0;
        out[o++] = a1;
        out[o++] = a2;
      }
    }
    return out;
  }
  for (let r = rowLo; r < rowHi; r++) {
    const rowBase = (r * width + colLo) * C;
    for (let x = 0; x < outW; x++) {
      const wBase = x * stride;
      const n = count[x];
      for (let c = 0; c < C; c++) {
        let idx = rowBase + start[x] * C + c;
        let acc = 0;
        for (let k = 0; k < n; k++, idx += C) acc += data[idx] * weights[wBase + k];
        out[o++] = acc;
      }
    }
  }
  return out;
}

/**
 * Filter along y into `out`: each output row a weighted sum of `rowValues` values of the source
 * rows, which are `rowStride` apart and start `colOffset` into each row; `v` indexes rows from `rowLo`.
 */
function verticalPass(data: Pixels, rowStride: number, colOffset: number, rowValues: number, outH: number, v: Coefficients, rowLo: number, out: Float32Array): Float32Array {
  const { start, count, weights, stride } = v;
  const offsets = new Int32Array(stride);
  for (let y = 0; y < outH; y++) {
    const n = count[y];
    for (let k = 0; k < n; k++) offsets[k] = (start[y] - rowLo + k) * rowStride + colOffset;
    rowDot(n)(data, offsets, weights.subarray(y * stride, y * stride + n), out, y * rowValues, rowValues);
  }
  return out;
}

/** PIL's nearest neighbour: the source pixel under each output pixel's centre. */
function nearest(src: ImageTensor, x0: number, y0: number, cw: number, ch: number, outW: number, outH: number): Float32Array {
  const C = src.channels;
  const out = new Float32Array(outH * outW * C);
  const sx = cw / outW;
  const sy = ch / outH;
  const cols = new Int32Array(outW);
  for (let o = 0; o < outW; o++) cols[o] = Math.min(Math.floor(x0 + (o + 0.5) * sx), x0 + cw - 1);
  for (let oy = 0; oy < outH; oy++) {
    const y = Math.min(Math.floor(y0 + (oy + 0.5) * sy), y0 + ch - 1);
    const rowBase = y * src.width;
    for (let ox = 0; ox < outW; ox++) {
      const from = (rowBase + cols[ox]) * C;
      const to = (oy * outW + ox) * C;
      for (let c = 0; c < C; c++) out[to + c] = src.data[from + c];
    }
  }
  return out;
}
