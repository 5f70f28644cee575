/** Reading a source item's mask (a file or encoded bytes) into class indices, with located errors. */
import { readRegularFile, UnreadableFile } from '../../core/boundedRead';
import { DataError } from '../errors';
import type { ImageRef } from '../types';
import { decodeMaskPng, MaskFormatError, type MaskImage } from './png';

/**
 * mmsegmentation's reduce_zero_label, for masks whose 0 means "unlabelled" (ADE20K): 0 becomes the
 * ignore index 255, every other class one less, 255 stays. In place; returns the mask.
 */
export function reduceZeroLabel(mask: MaskImage): MaskImage {
  const d = mask.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i] === 0 || d[i] === 255 ? 255 : d[i] - 1;
  return mask;
}

export async function decodeMask(ref: ImageRef, where: string, reduceZero = false): Promise<MaskImage> {
  const mask = await decodeMaskRef(ref, where);
  // A copy first where the pixels are the source's own (raw masks of an in-memory source).
  return reduceZero ? reduceZeroLabel(ref.kind === 'pixels' ? { ...mask, data: mask.data.slice() } : mask) : mask;
}

async function decodeMaskRef(ref: ImageRef, where: string): Promise<MaskImage> {
  if (ref.kind === 'pixels') {
    if (ref.channels !== 1) throw new DataError(where, `a mask must have one channel of class indices, got ${ref.channels}`);
    return { data: ref.data, width: ref.width, height: ref.height };
  }
  let bytes: Uint8Array;
  if (ref.kind === 'file') {
    // Through boundedRead as every user-named file: a FIFO or /dev/zero named as a mask ends at once.
    try {
      bytes = readRegularFile(ref.path, { what: 'mask file' });
    } catch (err) {
      throw new DataError(where, err instanceof UnreadableFile && err.reason === 'not-found' ? `mask file not found: ${ref.path}` : (err as Error).message);
    }
  } else bytes = ref.bytes;
  try {
    const { data, width, height } = decodeMaskPng(bytes);
    return { data, width, height };
  } catch (err) {
    if (err instanceof MaskFormatError) throw new DataError(where, `mask ${ref.kind === 'file' ? ref.path : `(${bytes.length} bytes)`}: ${err.message}`);
    throw err;
  }
}
