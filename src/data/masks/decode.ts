/** Reading a source item's mask (a file or encoded bytes) into class indices, with located errors. */
import * as fs from 'node:fs';
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
    try {
      bytes = await fs.promises.readFile(ref.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new DataError(where, code === 'ENOENT' ? `mask file not found: ${ref.path}` : `cannot read mask ${ref.path}: ${(err as Error).message}`);
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
