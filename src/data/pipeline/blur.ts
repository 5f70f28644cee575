/**
 * Gaussian blur with a random sigma, as SimCLR applies it (Chen et al., arXiv:2002.05709,
 * appendix A: p 0.5, sigma in [0.1, 2.0], kernel 10% of the image side) and BYOL (p 1.0 / 0.1).
 * A separable kernel with reflect padding, following torchvision's `gaussian_blur`.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import type { ImageTensor } from '../types';
import { rowDot } from './rowDot';
import { scratch } from './scratch';
import { probabilityParam, rangeParam, type PipelineStep } from './step';

/** torchvision's `_get_gaussian_kernel1d`: samples of exp(-x²/2σ²) at integer offsets, normalised. */
export function gaussianKernel(size: number, sigma: number): Float32Array {
  const k = new Float32Array(size);
  const half = (size - 1) / 2;
  let total = 0;
  for (let i = 0; i < size; i++) {
    const x = (i - half) / sigma;
    k[i] = Math.exp(-0.5 * x * x);
    total += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= total;
  return k;
}

/** Index into [0, n) reflected at the borders without repeating the edge (torch's 'reflect'). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

/** Convolve the image with `kx` along x and `ky` along y (reflect padding). */
export function separableBlur(img: ImageTensor, kx: Float32Array, ky: Float32Array): Float32Array {
  const { width: W, height: H, channels: C } = img;
  const src = img.data;
  const rowLen = W * C;
  const tmp = scratch('blur', src.length);
  const out = new Float32Array(src.length);
  const rx = (kx.length - 1) / 2;
  const ry = (ky.length - 1) / 2;
  // Along x: each row copied once with its reflected borders, then one dot per output value.
  const padded = scratch('blur-row', (W + 2 * rx) * C);
  const xOffsets = Int32Array.from(kx, (_, k) => k * C);
  const dotX = rowDot(kx.length);
  for (let y = 0; y < H; y++) {
    const row = y * rowLen;
    padded.set(src.subarray(row, row + rowLen), rx * C);
    for (let x = 1; x <= rx; x++) {
      const left = row + reflect(-x, W) * C;
      const right = row + reflect(W - 1 + x, W) * C;
      for (let c = 0; c < C; c++) {
        padded[(rx - x) * C + c] = src[left + c];
        padded[(rx + W - 1 + x) * C + c] = src[right + c];
      }
    }
    dotX(padded, xOffsets, kx, tmp, row, rowLen);
  }
  // Along y: each output row a weighted sum of whole (reflected) rows.
  const yOffsets = new Int32Array(ky.length);
  const dotY = rowDot(ky.length);
  for (let y = 0; y < H; y++) {
    for (let k = 0; k < ky.length; k++) yOffsets[k] = reflect(y + k - ry, H) * rowLen;
    dotY(tmp, yOffsets, ky, out, y * rowLen, rowLen);
  }
  return out;
}

/**
 * SimCLR's kernel (data_util.py): `side // 10`, then `radius * 2 + 1` with radius half of it
 * (9 taps at 96 px, 23 at 224), at least 3.
 */
export function defaultKernelSize(width: number, height: number): number {
  const k = Math.floor(Math.min(width, height) / 10);
  return Math.max(3, 2 * Math.floor(k / 2) + 1);
}

const oddSize = z.number().int().min(1).refine((k) => k % 2 === 1, { message: 'kernel sizes must be odd (3, 5, 9, ...)' });

register('pipeline', {
  type: 'GaussianBlur',
  description: 'Blur with a Gaussian of random sigma, with probability p',
  paper: 'Chen et al., A Simple Framework for Contrastive Learning of Visual Representations (SimCLR), ICML 2020, arXiv:2002.05709',
  params: z.strictObject({
    kernel_size: z.union([oddSize, z.tuple([oddSize, oddSize])]).optional().describe("Odd kernel size, or [height, width] (torchvision's GaussianBlur takes [width, height]); default: SimCLR's, 10% of the shorter image side made odd (9 at 96 px, 23 at 224)"),
    sigma: rangeParam(0.1, 2, 1e-6).describe('Range of the standard deviation in pixels, drawn uniformly'),
    p: probabilityParam(0.5, 'the blur'),
  }),
  build: (p): PipelineStep => ({
    type: 'GaussianBlur',
    apply(state, rng) {
      if (!rng.chance(p.p)) return;
      const sigma = rng.uniform(p.sigma[0], p.sigma[1]);
      const img = state.img;
      let [kh, kw] = p.kernel_size === undefined ? [defaultKernelSize(img.width, img.height), defaultKernelSize(img.width, img.height)] : typeof p.kernel_size === 'number' ? [p.kernel_size, p.kernel_size] : p.kernel_size;
      // Reflect padding needs a pad smaller than the side: shrink the kernel on tiny images.
      kh = Math.min(kh, 2 * img.height - 1);
      kw = Math.min(kw, 2 * img.width - 1);
      state.img = { ...img, data: separableBlur(img, gaussianKernel(kw, sigma), gaussianKernel(kh, sigma)) };
    },
  }),
});
