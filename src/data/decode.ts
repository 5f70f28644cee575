/**
 * Decoding images with sharp (libvips: libjpeg-turbo/mozjpeg, libspng, libwebp) to raw 8-bit
 * pixels. sharp is required lazily so that the registry can load where native modules cannot
 * (the editor). Raw-pixel sources (idx, CIFAR) skip decoding.
 *
 * Colour images come out RGB with alpha dropped, like PIL's `convert('RGB')` that torchvision's
 * folder datasets apply; grey output uses the same ITU-R 601-2 weights as PIL's `convert('L')`.
 */
import * as fs from 'node:fs';
import type { ImageRef, ImageTensor } from './types';
import { DataError } from './errors';
import { LUMA } from './pipeline/image';
import { requireNative } from '../core/nativeModules';

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

/** Decode `ref` to an HWC image (values 0-255) with `channels` channels (1 or 3); `where` names it in errors. */
export async function decodeImage(ref: ImageRef, channels: number, where: string): Promise<ImageTensor> {
  if (ref.kind === 'pixels') return asImage(convertChannels({ data: ref.data, width: ref.width, height: ref.height, channels: ref.channels }, channels));
  let bytes: Uint8Array;
  if (ref.kind === 'file') {
    try {
      bytes = fs.readFileSync(ref.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? `image file not found: ${ref.path}` : code === 'EISDIR' ? `${ref.path} is a folder, not an image` : `cannot read ${ref.path}: ${(err as Error).message}`;
      throw new DataError(where, reason);
    }
  } else bytes = ref.bytes;
  if (bytes.length === 0) throw new DataError(where, `empty image${ref.kind === 'file' ? ` file ${ref.path}` : ''}`);
  const sharp = loadSharp();
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    out = await sharp(bytes, { failOn: 'warning' }).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    const what = ref.kind === 'file' ? ref.path : `${bytes.length} bytes of ${ref.format ?? 'image'} data`;
    throw new DataError(where, `cannot decode ${what}: ${(err as Error).message.replace(/^Input (buffer|file) /, '')}`);
  }
  const { data, info } = out;
  return asImage(convertChannels({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels }, channels));
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
