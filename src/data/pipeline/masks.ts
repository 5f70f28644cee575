/**
 * Segmentation masks through geometric steps: the same crop, scale, flip and padding as the
 * image, resampled nearest-neighbour (class indices must not blend). Pixels that come from
 * outside the source (padding) get the ignore index, so the loss and the metrics skip them.
 */
import type { MaskImage } from '../masks/png';

/** The index a mask gets where there is no source pixel (mmsegmentation's seg_pad_val). */
export const MASK_PAD = 255;

/** The crop (x0, y0, cw, ch) of `mask` resized to outW x outH, PIL's nearest rule (source pixel under each output centre). */
export function cropResizeMask(mask: MaskImage, x0: number, y0: number, cw: number, ch: number, outW: number, outH: number): MaskImage {
  const out = new Uint8Array(outW * outH);
  const sx = cw / outW;
  const sy = ch / outH;
  const cols = new Int32Array(outW);
  for (let o = 0; o < outW; o++) cols[o] = Math.floor(x0 + (o + 0.5) * sx);
  for (let oy = 0; oy < outH; oy++) {
    const y = Math.floor(y0 + (oy + 0.5) * sy);
    const row = oy * outW;
    if (y < 0 || y >= mask.height) {
      out.fill(MASK_PAD, row, row + outW);
      continue;
    }
    const base = y * mask.width;
    for (let ox = 0; ox < outW; ox++) {
      const x = cols[ox];
      out[row + ox] = x < 0 || x >= mask.width ? MASK_PAD : mask.data[base + x];
    }
  }
  return { data: out, width: outW, height: outH };
}

/** `mask` mirrored left-right. */
export function flipMask(mask: MaskImage): MaskImage {
  const { width: W, height: H } = mask;
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = mask.data[y * W + (W - 1 - x)];
  return { ...mask, data: out };
}

/** `mask` placed at (left, top) in a W x H mask of the ignore index. */
export function padMask(mask: MaskImage, W: number, H: number, left: number, top: number): MaskImage {
  const out = new Uint8Array(W * H).fill(MASK_PAD);
  for (let y = 0; y < mask.height; y++) out.set(mask.data.subarray(y * mask.width, (y + 1) * mask.width), (y + top) * W + left);
  return { data: out, width: W, height: H };
}
