/**
 * Resampling a rectangle of an image to a new size, antialiased the way PIL resizes: separable
 * filters whose support widens by the shrink factor, so a strong reduction averages every source
 * pixel instead of skipping most of them (what torchvision's RandomResizedCrop gets from PIL).
 *
 * Taps are clamped to the rectangle, as when torchvision crops first and resizes the crop.
 */
import type { ImageTensor } from '../types';

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
  const C = src.channels;
  if (mode === 'nearest') return nearest(src, x0, y0, cw, ch, outW, outH);
  const filter = FILTERS[mode];
  const data = src.data;
  const W = src.width;
  const xs = x0 | 0;
  const ys = y0 | 0;
  // Horizontal pass over the rows the vertical pass will read.
  const v = coefficients(y0, ch, outH, filter, ys, ys + ch);
  const rowLo = v.start.length ? v.start[0] : ys;
  const rowHi = v.start.length ? v.start[outH - 1] + v.count[outH - 1] : ys;
  const rows = rowHi - rowLo;
  const tmp = new Float32Array(rows * outW * C);
  if (cw === outW && Number.isInteger(x0)) {
    for (let r = 0; r < rows; r++) {
      const from = ((rowLo + r) * W + xs) * C;
      for (let i = 0; i < outW * C; i++) tmp[r * outW * C + i] = data[from + i];
    }
  } else {
    const h = coefficients(x0, cw, outW, filter, xs, xs + cw);
    for (let r = 0; r < rows; r++) {
      const rowBase = (rowLo + r) * W;
      const outBase = r * outW * C;
      for (let o = 0; o < outW; o++) {
        const first = h.start[o];
        const n = h.count[o];
        const wBase = o * h.stride;
        for (let c = 0; c < C; c++) {
          let acc = 0;
          let idx = (rowBase + first) * C + c;
          for (let k = 0; k < n; k++, idx += C) acc += data[idx] * h.weights[wBase + k];
          tmp[outBase + o * C + c] = acc;
        }
      }
    }
  }
  const out = new Float32Array(outH * outW * C);
  const rowLen = outW * C;
  if (ch === outH && Number.isInteger(y0)) {
    out.set(tmp.subarray(0, outH * rowLen));
  } else {
    for (let o = 0; o < outH; o++) {
      const first = v.start[o] - rowLo;
      const n = v.count[o];
      const wBase = o * v.stride;
      const outBase = o * rowLen;
      for (let k = 0; k < n; k++) {
        const w = v.weights[wBase + k];
        const tBase = (first + k) * rowLen;
        for (let i = 0; i < rowLen; i++) out[outBase + i] += tmp[tBase + i] * w;
      }
    }
  }
  // Cubic filters overshoot; PIL clips to the pixel range.
  if (mode === 'bicubic' && src.white !== undefined) {
    const hi = src.white;
    for (let i = 0; i < out.length; i++) out[i] = out[i] < 0 ? 0 : out[i] > hi ? hi : out[i];
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
