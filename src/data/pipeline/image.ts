/** Small helpers on HWC images shared by the pipeline steps. */
import type { ImageTensor } from '../types';
import { UserError } from '../../core/problems';

/** ITU-R 601-2 luma, the weights of PIL's `convert('L')` and torchvision's `rgb_to_grayscale`. */
export const LUMA = [0.299, 0.587, 0.114] as const;

/** The full-intensity value, or a clear error when a colour step comes after Normalize. */
export function whiteOf(img: ImageTensor, step: string): number {
  if (img.white === undefined) throw new UserError(`${step} works on pixel intensities, but the image was already normalised: put ${step} before Normalize in the pipeline`);
  return img.white;
}

/** Grey value of each pixel of an RGB (or grey) float image: H*W values. */
export function luma(data: Float32Array | Uint8Array, pixels: number, channels: number): Float32Array {
  const out = new Float32Array(pixels);
  if (channels === 1) {
    out.set(data.subarray(0, pixels));
    return out;
  }
  const [wr, wg, wb] = LUMA;
  for (let p = 0, i = 0; p < pixels; p++, i += channels) out[p] = wr * data[i] + wg * data[i + 1] + wb * data[i + 2];
  return out;
}

/** Python's round(): halves go to the even neighbour, as torchvision's crop arithmetic does. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `[h, w]` from a size parameter given as one number (square) or `[h, w]`. */
export function sizeHW(size: number | [number, number]): [number, number] {
  return typeof size === 'number' ? [size, size] : size;
}
