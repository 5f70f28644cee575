/** Reading a source item's mask (a file or encoded bytes) into class indices, with located errors. */
import { readRegularFile, UnreadableFile } from '../../core/boundedRead';
import { DataError } from '../errors';
import type { ImageRef } from '../types';
import { decodeMaskPng, MaskFormatError, type MaskImage } from './png';

export async function decodeMask(ref: ImageRef, where: string): Promise<MaskImage> {
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
