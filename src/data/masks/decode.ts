/** Reading a source item's mask (a file or encoded bytes) into class indices, with located errors. */
import { readRegularFile } from '../../core/boundedRead';
import { DataError } from '../errors';
import type { ImageRef } from '../types';
import { decodeMaskPng, MaskFormatError, type DecodedMask, type MaskImage } from './png';
import { maxImagePixels } from '../pixelLimit';
import { sniffImageFormat } from '../formats';
import { decodePnm, PnmError } from '../pnm';

/**
 * Class indices of an 8-bit PGM (maxval 255): its values as they are, as PIL reads them. Other
 * Netpbm files are refused: PIL scales a smaller maxval's values (class 3 of maxval 20 reads 38),
 * and bitmaps and colour files hold no class indices.
 */
function decodeMaskPgm(bytes: Uint8Array): DecodedMask {
  const img = decodePnm(bytes, maxImagePixels());
  if ((img.magic !== 'P5' && img.magic !== 'P2') || img.maxval !== 255) {
    throw new MaskFormatError(`${img.magic} file with maxval ${img.maxval}: Netpbm masks must be 8-bit PGMs (P5 or P2, maxval 255) whose values are class indices`);
  }
  return { data: img.data, width: img.width, height: img.height };
}

/**
 * mmsegmentation's reduce_zero_label, for masks whose 0 means "unlabelled" (ADE20K): 0 becomes the
 * ignore index 255, every other class one less, 255 stays. In place; returns the mask.
 */
export function reduceZeroLabel(mask: MaskImage): MaskImage {
  const d = mask.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i] === 0 || d[i] === 255 ? 255 : d[i] - 1;
  return mask;
}

export interface ReadMask {
  /** The class indices (reduced with `reduceZero`). */
  mask: MaskImage;
  /** The PNG as read, where the mask came encoded and unchanged (a writer may store it as it is). */
  bytes?: Uint8Array;
  /** The palette of an indexed PNG. */
  palette?: Uint8Array;
}

/** An item's mask, read and decoded; every reader of masks (loader, inspect, pack, report) comes here. */
export function readMask(ref: ImageRef, where: string, reduceZero = false): ReadMask {
  if (ref.kind === 'pixels') {
    if (ref.channels !== 1) throw new DataError(where, `a mask must have one channel of class indices, got ${ref.channels}`);
    // A copy before reducing: the pixels are the source's own (raw masks of an in-memory source).
    const mask = { data: reduceZero ? ref.data.slice() : ref.data, width: ref.width, height: ref.height };
    return { mask: reduceZero ? reduceZeroLabel(mask) : mask };
  }
  let bytes: Uint8Array;
  // Through boundedRead as every user-named file: a FIFO or /dev/zero named as a mask ends at once.
  try {
    bytes = ref.kind === 'file' ? readRegularFile(ref.path, { what: 'mask file' }) : ref.bytes;
  } catch (err) {
    throw new DataError(where, (err as Error).message);
  }
  try {
    // A PGM is no PNG to store as it is (bytes): whoever needs one encodes the indices.
    const pgm = sniffImageFormat(bytes) === 'pnm';
    const { data, width, height, palette } = pgm ? decodeMaskPgm(bytes) : decodeMaskPng(bytes);
    const mask = { data, width, height };
    return reduceZero ? { mask: reduceZeroLabel(mask), palette } : { mask, bytes: pgm ? undefined : bytes, palette };
  } catch (err) {
    if (err instanceof MaskFormatError || err instanceof PnmError) throw new DataError(where, `mask ${ref.kind === 'file' ? ref.path : `(${bytes.length} bytes)`}: ${err.message}`);
    throw err;
  }
}

export async function decodeMask(ref: ImageRef, where: string, reduceZero = false): Promise<MaskImage> {
  return readMask(ref, where, reduceZero).mask;
}
