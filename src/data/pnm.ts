/**
 * Netpbm images (PBM, PGM, PPM: P1 to P6), decoded here because the bundled libvips (sharp) has
 * no loader for them while torchvision (PIL) reads them. The pixels are those PIL gives after
 * `convert('RGB')` or `convert('L')` (Pillow's PpmImagePlugin, checked against Pillow 9.4):
 *
 * - bitmaps (P1, P4): 1 is black, 0 white (0 and 255);
 * - samples are scaled to 8 bits as `round(v / maxval * 255)`, rounding half to even as Python
 *   does, except 8-bit files (maxval 255) read as they are; a binary sample over maxval scales
 *   above 255 and is clipped, a plain one is refused as PIL refuses it;
 * - grey files with maxval over 255 become PIL's 32-bit mode 'I' (scaled to 0-65535), which
 *   `convert('L')` and `convert('RGB')` clip at 255 instead of scaling: a 16-bit PGM reads almost
 *   white in PIL, and so it does here. 16-bit colour (P3, P6) is scaled to 8 bits.
 *
 * Comments (`#` to the end of the line, also inside a value, as Netpbm and PIL allow) and any
 * whitespace may separate the header's values; one whitespace character ends the header.
 * The result is 8-bit grey (bitmaps and graymaps) or RGB.
 */
import { tooManyPixels } from './pixelLimit';
import type { RawImage } from './decode';

export class PnmError extends Error {}

/** The 8-bit pixels, and what the header said: P1 to P6 and maxval (1 for bitmaps). */
export interface PnmImage extends RawImage {
  magic: string;
  maxval: number;
}

/** The longest header or plain sample value PIL reads (10 characters). */
const MAX_TOKEN = 10;

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function clip(s: string): string {
  const shown = s.length > 20 ? `${s.slice(0, 20)}...` : s;
  return JSON.stringify(shown);
}

/** Python's round() of a non-negative number: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** A reader of whitespace-separated decimal values with `#` comments, over the file's bytes. */
class Tokens {
  constructor(
    private readonly b: Uint8Array,
    public pos: number,
  ) {}

  /**
   * The next value's characters, as PIL's `_read_token`: leading whitespace skipped, a comment
   * skipped through its line end (the value goes on after it), one whitespace character consumed
   * after the value. Undefined at the end of the bytes.
   */
  next(what: string): string | undefined {
    const b = this.b;
    let token = '';
    while (this.pos < b.length) {
      const c = b[this.pos++];
      if (isSpace(c)) {
        if (token) break;
      } else if (c === 0x23) {
        while (this.pos < b.length && b[this.pos] !== 0x0a && b[this.pos] !== 0x0d) this.pos++;
        this.pos++;
      } else {
        token += String.fromCharCode(c);
        if (token.length > MAX_TOKEN) throw new PnmError(`PNM ${what} is too long: ${clip(token)}`);
      }
    }
    return token || undefined;
  }

  /** The next value as a whole number; `what` names it in errors. */
  number(what: string, truncated: () => never): number {
    const token = this.next(what);
    if (token === undefined) return truncated();
    if (!/^[0-9]+$/.test(token)) throw new PnmError(`PNM ${what} is not a whole number: ${clip(token)}`);
    return Number(token);
  }
}

/** The pixels of a PBM, PGM or PPM file's bytes; `maxPixels` is checked before anything is allocated. */
export function decodePnm(b: Uint8Array, maxPixels: number): PnmImage {
  if (b.length < 3 || b[0] !== 0x50 || b[1] < 0x31 || b[1] > 0x36 || !isSpace(b[2])) throw new PnmError('not a PNM file (expected P1 to P6 and a space)');
  const kind = b[1] - 0x30;
  const plain = kind <= 3;
  const bitmap = kind === 1 || kind === 4;
  const channels = kind === 3 || kind === 6 ? 3 : 1;
  const tokens = new Tokens(b, 3);
  const truncatedHeader = (what: string) => (): never => {
    throw new PnmError(`truncated PNM: the header ends before the ${what} (${b.length} bytes)`);
  };
  const width = tokens.number('width', truncatedHeader('width'));
  const height = tokens.number('height', truncatedHeader('height'));
  const maxval = bitmap ? 1 : tokens.number('maxval', truncatedHeader('maxval'));
  if (!(width >= 1 && height >= 1)) throw new PnmError(`empty PNM: ${width}x${height} pixels`);
  if (!(maxval >= 1 && maxval <= 65535)) throw new PnmError(`PNM maxval ${maxval} is out of range: it must be 1 to 65535`);
  if (width * height > maxPixels) throw new PnmError(tooManyPixels(width, height, maxPixels));

  const samples = width * height * channels;
  const start = tokens.pos;
  const need = (n: number, atLeast = '') => {
    if (b.length < n) throw new PnmError(`truncated PNM: ${b.length} bytes, the pixel data needs ${atLeast}${n}`);
  };
  if (kind === 4) need(start + Math.ceil(width / 8) * height);
  else if (!plain) need(start + samples * (maxval < 256 ? 1 : 2));
  // Plain data: one character per bitmap pixel, a digit and a separator per sample (the last without).
  else need(start + (bitmap ? samples : 2 * samples - 1), 'at least ');

  const out = new Uint8Array(samples);
  if (bitmap) {
    if (kind === 4) {
      const stride = Math.ceil(width / 8);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) out[y * width + x] = (b[start + y * stride + (x >> 3)] >> (7 - (x & 7))) & 1 ? 0 : 255;
      }
    } else {
      // P1: each pixel one character, 0 or 1, with or without whitespace between them.
      let pos = start;
      for (let i = 0; i < samples; ) {
        if (pos >= b.length) throw new PnmError(`truncated PNM: the pixel data ends after ${i} of ${samples} pixels`);
        const c = b[pos++];
        if (c === 0x30 || c === 0x31) out[i++] = c === 0x31 ? 0 : 255;
        else if (c === 0x23) {
          while (pos < b.length && b[pos] !== 0x0a && b[pos] !== 0x0d) pos++;
          pos++;
        } else if (!isSpace(c)) throw new PnmError(`PNM bitmap pixel ${i} is not 0 or 1: ${clip(String.fromCharCode(c))}`);
      }
    }
    return { data: out, width, height, channels, magic: `P${kind}`, maxval };
  }

  // Each sample value's 8-bit result: PIL scales to 0-255, or to 0-65535 for grey over 8 bits
  // (mode 'I'), and clips at that scale and then (converting 'I' to 'L' or 'RGB') at 255.
  const scale = channels === 1 && maxval > 255 ? 65535 : 255;
  const table = new Uint8Array(maxval < 256 ? 256 : 65536);
  for (let v = 0; v < table.length; v++) table[v] = Math.min(255, roundHalfEven((v / maxval) * scale));
  if (plain) {
    for (let i = 0; i < samples; i++) {
      const token = tokens.next('sample');
      if (token === undefined) throw new PnmError(`truncated PNM: the pixel data ends after ${i} of ${samples} samples`);
      if (!/^[0-9]+$/.test(token)) throw new PnmError(`PNM sample ${i} is not a whole number: ${clip(token)}`);
      const v = Number(token);
      if (v > maxval) throw new PnmError(`PNM sample ${i} is ${v}, over the maxval of ${maxval}`);
      out[i] = table[v];
    }
  } else if (maxval < 256) {
    for (let i = 0; i < samples; i++) out[i] = table[b[start + i]];
  } else {
    for (let i = 0; i < samples; i++) out[i] = table[(b[start + 2 * i] << 8) | b[start + 2 * i + 1]];
  }
  return { data: out, width, height, channels, magic: `P${kind}`, maxval };
}
