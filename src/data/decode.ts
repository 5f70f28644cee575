/**
 * Decoding images with sharp (libvips: libjpeg-turbo/mozjpeg, libspng, libwebp) to raw 8-bit
 * pixels. sharp is required lazily so that the registry can load where native modules cannot
 * (the editor). Raw-pixel sources (idx, CIFAR) skip decoding.
 *
 * Colour images come out RGB with alpha dropped, like PIL's `convert('RGB')` that torchvision's
 * folder datasets apply; grey output uses the same ITU-R 601-2 weights as PIL's `convert('L')`.
 */
import type { ImageRef, ImageTensor } from './types';
import { DataError } from './errors';
import { LUMA } from './pipeline/image';
import { NativeModuleError, requireNative } from '../core/nativeModules';
import { openRegularFile, readRegularFile } from '../core/boundedRead';
import * as fs from 'node:fs';
import { decodeBmp } from './bmp';
import { decodePnm } from './pnm';
import { sniffImageFormat } from './formats';
import { MAX_IMAGE_PIXELS_ENV, maxImagePixels, tooManyPixels } from './pixelLimit';

type Sharp = typeof import('sharp');
let sharpModule: Sharp | undefined;

/** sharp, configured for many small images: no operation cache, one libvips thread per image; a NativeModuleError when it cannot be loaded. */
export function loadSharp(): Sharp {
  if (!sharpModule) {
    sharpModule = requireNative('sharp', () => require('sharp') as Sharp);
    sharpModule.cache(false);
    sharpModule.concurrency(1);
  }
  return sharpModule;
}


/**
 * sharp on an encoded image (a file or its bytes), with the pixel limit: every decoder of user
 * images starts here. BMP and Netpbm (PBM, PGM, PPM), which sharp's libvips cannot load, are
 * decoded by bmp.ts and pnm.ts and handed over as raw pixels.
 */
export function openImage(input: string | Uint8Array): import('sharp').Sharp {
  const bytes = typeof input === 'string' && isDecodedHere(input) ? readRegularFile(input, { what: 'image file' }) : input;
  const format = typeof bytes !== 'string' ? sniffImageFormat(bytes) : undefined;
  if (typeof bytes !== 'string' && (format === 'bmp' || format === 'pnm')) {
    const img = format === 'bmp' ? decodeBmp(bytes, maxImagePixels()) : decodePnm(bytes, maxImagePixels());
    return loadSharp()(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4 } });
  }
  return loadSharp()(bytes, { failOn: 'warning', limitInputPixels: maxImagePixels() });
}

/** Does the file start with the magic number of a format decoded here (read without blocking: it may be anything)? */
function isDecodedHere(file: string): boolean {
  let fd: number | undefined;
  try {
    ({ fd } = openRegularFile(file, 'image file'));
    const head = Buffer.alloc(3);
    const format = sniffImageFormat(head.subarray(0, fs.readSync(fd, head, 0, 3, 0)));
    return format === 'bmp' || format === 'pnm';
  } catch {
    return false; // sharp reports what is wrong with it
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Decode `ref` to an HWC image (values 0-255) with `channels` channels (1 or 3); `where` names it in errors. */
export async function decodeImage(ref: ImageRef, channels: number, where: string): Promise<ImageTensor> {
  if (ref.kind === 'pixels') {
    const { width, height } = ref;
    if (!(width >= 1 && height >= 1)) throw new DataError(where, `empty image: ${width}x${height} pixels`);
    if (width * height > maxImagePixels()) throw new DataError(where, tooManyPixels(width, height));
    if (ref.data.length < width * height * ref.channels) throw new DataError(where, `${ref.data.length} bytes of pixels do not fill ${width}x${height}x${ref.channels}`);
    return asImage(convertChannels({ data: ref.data, width, height, channels: ref.channels }, channels));
  }
  let bytes: Uint8Array;
  if (ref.kind === 'file') {
    try {
      bytes = readRegularFile(ref.path, { what: 'image file' });
    } catch (err) {
      throw new DataError(where, (err as Error).message);
    }
  } else bytes = ref.bytes;
  if (bytes.length === 0) throw new DataError(where, `empty image${ref.kind === 'file' ? ` file ${ref.path}` : ''}`);
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  const what = ref.kind === 'file' ? ref.path : `${bytes.length} bytes of ${ref.format ?? 'image'} data`;
  try {
    out = await openImage(bytes).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    // A missing sharp is the installation's fault, never this image's.
    if (err instanceof NativeModuleError) throw err;
    throw new DataError(where, `cannot decode ${what}: ${await decodeFailure(bytes, err as Error)}`);
  }
  const { data, info } = out;
  if (!(info.width >= 1 && info.height >= 1)) throw new DataError(where, `empty image ${what}: ${info.width}x${info.height} pixels`);
  return asImage(convertChannels({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels }, channels));
}

/** Why sharp failed, in words: for the pixel limit, the image's size and how to raise the limit. */
export async function decodeFailure(input: string | Uint8Array, err: Error): Promise<string> {
  const message = err.message.replace(/^Input (buffer|file) /, '');
  // failOn: 'warning' (openImage) refuses damaged data; when images decode concurrently libvips'
  // single error buffer often loses the warning itself and only sharp's note is left.
  if (/Warning treated as error/.test(message)) return 'corrupt or truncated image data (the decoder warned; damaged images are refused rather than half-read)';
  if (!/pixel limit/.test(message)) return message;
  try {
    const meta = await loadSharp()(input).metadata();
    return tooManyPixels(meta.width ?? 0, meta.height ?? 0);
  } catch {
    return `${message} of ${maxImagePixels().toLocaleString('en')} pixels (set ${MAX_IMAGE_PIXELS_ENV} to raise it)`;
  }
}

/** 8-bit pixels, before they become an ImageTensor. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * The decoded image, still 8-bit: the first step of each view reads it (a crop reads a part of
 * it) and writes its own float result, so the whole image is never converted.
 */
function asImage(img: RawImage): ImageTensor {
  return { data: img.data, width: img.width, height: img.height, channels: img.channels, white: 255 };
}

/** Grey to RGB by repetition, RGB to grey by luma (rounded, as PIL stores 8-bit grey). */
export function convertChannels(img: RawImage, channels: number): RawImage {
  if (img.channels === channels) return img;
  const pixels = img.width * img.height;
  const src = img.data;
  const out = new Uint8Array(pixels * channels);
  if (channels === 3 && img.channels === 1) {
    for (let p = 0; p < pixels; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = src[p];
  } else if (channels === 1 && img.channels >= 3) {
    const [wr, wg, wb] = LUMA;
    const C = img.channels;
    for (let p = 0; p < pixels; p++) out[p] = Math.round(wr * src[p * C] + wg * src[p * C + 1] + wb * src[p * C + 2]);
  } else {
    throw new Error(`cannot convert a ${img.channels}-channel image to ${channels} channels`);
  }
  return { ...img, data: out, channels };
}
