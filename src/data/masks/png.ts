/**
 * Segmentation masks as PNG: indexed (palette) PNGs, as Pascal VOC ships them, read as their
 * palette indices, and 8-bit grey PNGs read as their grey values (ADE20K, Cityscapes label ids).
 * libvips (sharp) turns palette PNGs into RGB, which loses the indices when two entries share a
 * colour, so masks are decoded here: the chunks, zlib (node:zlib) and the five PNG filters.
 * Writing makes indexed PNGs with the Pascal VOC colour map, which every mask viewer shows.
 */
import * as zlib from 'node:zlib';

const SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** Class indices of a mask, row-major, `height x width`. */
export interface MaskImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** What a mask PNG holds besides the indices: the palette (RGB triples) of an indexed PNG. */
export interface DecodedMask extends MaskImage {
  palette?: Uint8Array;
}

/** Thrown with a reason; callers add where (the file, the item). */
export class MaskFormatError extends Error {}

function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Undo the PNG row filters (bpp = bytes per complete pixel, at least 1) in place into `out`. */
function unfilter(raw: Uint8Array, rows: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(rows * stride);
  for (let y = 0; y < rows; y++) {
    const type = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    const prev = dst - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[dst + x - bpp] : 0;
      const b = y > 0 ? out[prev + x] : 0;
      const c = y > 0 && x >= bpp ? out[prev + x - bpp] : 0;
      let v = raw[src + x];
      if (type === 1) v += a;
      else if (type === 2) v += b;
      else if (type === 3) v += (a + b) >> 1;
      else if (type === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (type !== 0) throw new MaskFormatError(`bad PNG filter type ${type} on row ${y}`);
      out[dst + x] = v & 255;
    }
  }
  return out;
}

/**
 * Class indices of an indexed (bit depth 1-8) or 8-bit grey PNG. Other PNGs (RGB, 16-bit, with
 * alpha) are refused: their pixel values are not class indices.
 */
export function decodeMaskPng(bytes: Uint8Array): DecodedMask {
  if (!isPng(bytes)) throw new MaskFormatError('not a PNG file (masks must be indexed or 8-bit grey PNGs, or 8-bit PGMs)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const body = bytes.subarray(pos + 8, pos + 8 + len);
    if (body.length < len) throw new MaskFormatError(`truncated PNG: chunk ${type} at byte ${pos} needs ${len} bytes`);
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      depth = body[8];
      colorType = body[9];
      if (body[12] !== 0) throw new MaskFormatError('interlaced PNG masks are not supported: save the mask without interlacing');
    } else if (type === 'PLTE') palette = body.slice();
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  if (!width || !height) throw new MaskFormatError('PNG without a header (IHDR)');
  const kind = colorType === 3 ? 'indexed' : colorType === 0 ? 'grey' : undefined;
  if (!kind || (kind === 'grey' && depth !== 8) || (kind === 'indexed' && ![1, 2, 4, 8].includes(depth))) {
    const names: Record<number, string> = { 0: 'grey', 2: 'RGB', 3: 'indexed', 4: 'grey + alpha', 6: 'RGBA' };
    throw new MaskFormatError(`${depth}-bit ${names[colorType] ?? `colour type ${colorType}`} PNG: masks must be indexed (palette) or 8-bit grey PNGs whose values are class indices`);
  }
  let raw: Buffer;
  try {
    raw = zlib.inflateSync(Buffer.concat(idat));
  } catch (err) {
    throw new MaskFormatError(`corrupt PNG image data: ${(err as Error).message}`);
  }
  const stride = Math.ceil((width * depth) / 8);
  if (raw.length < height * (stride + 1)) throw new MaskFormatError(`truncated PNG image data: ${raw.length} bytes for ${width}x${height}`);
  const rows = unfilter(raw, height, stride, 1);
  let data: Uint8Array;
  if (depth === 8) data = rows;
  else {
    data = new Uint8Array(width * height);
    const perByte = 8 / depth;
    const maskBits = (1 << depth) - 1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const byte = rows[y * stride + Math.floor(x / perByte)];
        data[y * width + x] = (byte >> ((perByte - 1 - (x % perByte)) * depth)) & maskBits;
      }
    }
  }
  return { data, width, height, palette };
}

/** The Pascal VOC colour map: entry i spreads the bits of i over the high bits of R, G and B. */
export function vocPalette(): Uint8Array {
  const p = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    let c = i;
    let r = 0;
    let g = 0;
    let b = 0;
    for (let j = 7; j >= 0; j--) {
      r |= (c & 1) << j;
      g |= ((c >> 1) & 1) << j;
      b |= ((c >> 2) & 1) << j;
      c >>= 3;
    }
    p.set([r, g, b], 3 * i);
  }
  return p;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (const b of p) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32([head.subarray(4), body]), 0);
  return Buffer.concat([head, body, tail]);
}

/** An 8-bit indexed PNG of `mask` with `palette` (default: the Pascal VOC colour map). */
export function encodeMaskPng(mask: MaskImage, palette: Uint8Array = vocPalette()): Buffer {
  const { width, height, data } = mask;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 3, 0, 0, 0], 8);
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([Buffer.from(SIGNATURE), chunk('IHDR', ihdr), chunk('PLTE', palette.subarray(0, 256 * 3)), chunk('IDAT', zlib.deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0))]);
}
