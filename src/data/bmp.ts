/**
 * Windows BMP, decoded here because the bundled libvips (sharp) has no BMP loader while torchvision
 * (PIL) reads them: the forms PIL writes and reads — 1, 4 and 8 bits with a palette, 16, 24 and
 * 32 bits, uncompressed or with bit-field masks, bottom-up or top-down rows. RLE-compressed
 * files are refused with what to do. The result is 8-bit RGB (RGBA where a mask gives alpha).
 */
import { tooManyPixels } from './pixelLimit';
import type { RawImage } from './decode';

export class BmpError extends Error {}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

/** A bit mask's shift and width, to scale its field to 8 bits. */
function field(mask: number): { shift: number; bits: number } {
  if (mask === 0) return { shift: 0, bits: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (((mask >>> (shift + bits)) & 1) === 1 && shift + bits < 32) bits++;
  return { shift, bits };
}

function scaled(value: number, f: { shift: number; bits: number }): number {
  if (f.bits === 0) return 255;
  const max = 2 ** f.bits - 1;
  return Math.round((((value >>> f.shift) & max) * 255) / max);
}

/** The pixels of a BMP file's bytes; `maxPixels` is checked before anything is allocated. */
export function decodeBmp(b: Uint8Array, maxPixels: number): RawImage {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const need = (n: number, what: string) => {
    if (b.length < n) throw new BmpError(`truncated BMP: ${b.length} bytes, the ${what} needs ${n}`);
  };
  need(26, 'header');
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = BI_RGB;
  let colours = 0;
  if (headerSize === 12) {
    width = view.getUint16(18, true);
    height = view.getInt16(20, true);
    bpp = view.getUint16(24, true);
  } else if (headerSize >= 40) {
    need(14 + 40, 'header');
    width = view.getInt32(18, true);
    height = view.getInt32(22, true);
    bpp = view.getUint16(28, true);
    compression = view.getUint32(30, true);
    colours = view.getUint32(46, true);
  } else throw new BmpError(`not a BMP this reader knows (header of ${headerSize} bytes)`);
  if (compression === BI_RLE8 || compression === BI_RLE4) throw new BmpError('RLE-compressed BMP is not supported: save it uncompressed or as PNG');
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) throw new BmpError(`BMP compression ${compression} is not supported: save it as PNG`);
  const topDown = height < 0;
  height = Math.abs(height);
  if (!(width >= 1 && height >= 1)) throw new BmpError(`empty BMP: ${width}x${height} pixels`);
  if (width * height > maxPixels) throw new BmpError(tooManyPixels(width, height, maxPixels));
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new BmpError(`BMP with ${bpp} bits per pixel is not supported`);

  // Bit-field masks: after a 40-byte header (BI_BITFIELDS: 3 masks, BI_ALPHABITFIELDS: 4), inside larger ones.
  let masks: number[] | undefined;
  if (compression !== BI_RGB) {
    const at = 14 + 40;
    const n = compression === BI_ALPHABITFIELDS || headerSize >= 56 ? 4 : 3;
    need(at + 4 * n, 'bit masks');
    masks = Array.from({ length: n }, (_, i) => view.getUint32(at + 4 * i, true));
  } else if (bpp === 16) masks = [0x7c00, 0x03e0, 0x001f];
  const alpha = masks !== undefined && (masks[3] ?? 0) !== 0;
  const channels = alpha ? 4 : 3;

  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const entry = headerSize === 12 ? 3 : 4;
    const count = colours || 2 ** bpp;
    const at = 14 + headerSize;
    need(at + count * entry, 'palette');
    palette = new Uint8Array(count * 3);
    for (let i = 0; i < count; i++) {
      palette[3 * i] = b[at + entry * i + 2];
      palette[3 * i + 1] = b[at + entry * i + 1];
      palette[3 * i + 2] = b[at + entry * i];
    }
  }

  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  need(dataOffset + stride * (height - 1) + Math.ceil((bpp * width) / 8), 'pixel data');
  const out = new Uint8Array(width * height * channels);
  const fields = masks?.map(field);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (palette) {
        const bit = x * bpp;
        const index = (b[row + (bit >> 3)] >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        if (3 * index + 2 >= palette.length) throw new BmpError(`BMP pixel (${x}, ${y}) uses colour ${index} of a palette of ${palette.length / 3}`);
        out.set(palette.subarray(3 * index, 3 * index + 3), o);
      } else if (fields) {
        const v = bpp === 16 ? view.getUint16(row + 2 * x, true) : view.getUint32(row + 4 * x, true);
        for (let c = 0; c < channels; c++) out[o + c] = scaled(v, fields[c]);
      } else {
        // 24 and 32 bits without masks: blue, green, red (a fourth byte is unused, as PIL reads it).
        const p = row + x * (bpp / 8);
        out[o] = b[p + 2];
        out[o + 1] = b[p + 1];
        out[o + 2] = b[p];
      }
    }
  }
  return { data: out, width, height, channels };
}
