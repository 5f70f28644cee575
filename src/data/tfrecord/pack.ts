/**
 * Packing a source into TFRecord shards of `tf.train.Example` images, with one DALI index per
 * shard and a `classes.txt`: what `cvw data pack` does. Encoded images (JPEG, PNG, WebP) are
 * stored as they are, byte for byte; raw-pixel sources (idx, CIFAR) are encoded losslessly as PNG.
 * Segmentation items keep their mask (an indexed or grey PNG, checked and stored byte for byte;
 * pixel masks encoded as indexed PNG) under DeepLab's `image/segmentation/class/encoded`.
 * Items are spread over the shards in a seeded random order (TensorFlow's ImageNet converter
 * shuffles too), so that shards read in sequence are not sorted by class.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../core/problems';
import { Random } from '../../core/random';
import { loadSharp } from '../decode';
import { DataError, describeItemError } from '../errors';
import { encodeMaskPng } from '../masks/png';
import { readMask } from '../masks/decode';
import { sniffImageFormat } from '../formats';
import type { DataSource, ImageRef } from '../types';
import { encodeExample, IMAGE_KEYS, utf8, type Features } from './example';
import { TFRecordWriter } from './writer';
import { readRegularFile } from '../../core/boundedRead';
import { makeDirs } from '../../core/makeDirs';

export interface PackOptions {
  out: string;
  shards: number;
  /** Shard names: `<prefix>-00000-of-00004.tfrecord`. */
  prefix?: string;
  /** Spread items over the shards in a random order (default true). */
  shuffle?: boolean;
  seed?: number;
  /** Skip unreadable items (counting them) instead of stopping. */
  skipCorrupt?: boolean;
  onProgress?(done: number, total: number): void;
}

export interface PackResult {
  shards: Array<{ file: string; records: number; bytes: number }>;
  skipped: Array<{ where: string; reason: string }>;
}

export function shardName(prefix: string, k: number, n: number): string {
  return `${prefix}-${String(k).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.tfrecord`;
}

/** The encoded bytes and format of an item's image (pixels become PNG). */
async function encodedImage(image: ImageRef, where: string): Promise<{ bytes: Uint8Array; format: string; height?: number; width?: number; channels?: number; filename?: string }> {
  if (image.kind === 'pixels') {
    const png = await loadSharp()(image.data, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 } }).png().toBuffer();
    return { bytes: png, format: 'png', height: image.height, width: image.width, channels: image.channels };
  }
  let bytes: Uint8Array;
  let filename: string | undefined;
  if (image.kind === 'file') {
    try {
      bytes = readRegularFile(image.path, { what: 'image file' });
    } catch (err) {
      throw new DataError(where, (err as Error).message);
    }
    filename = path.basename(image.path);
  } else bytes = image.bytes;
  const format = sniffImageFormat(bytes);
  if (!format) throw new DataError(where, `not an image file of a known format (JPEG, PNG, WebP, GIF, BMP, TIFF, PNM)${image.kind === 'file' ? `: ${image.path}` : ''}`);
  return { bytes, format, filename };
}

/**
 * The PNG bytes of an item's mask, checked to be one (an indexed or grey PNG of class indices), as
 * read; `reduceZero`: stored already reduced (reduceZeroLabel), so the shards read as the source did.
 */
function encodedMask(ref: ImageRef, where: string, reduceZero = false): Uint8Array {
  const { mask, bytes } = readMask(ref, where, reduceZero);
  return bytes ?? encodeMaskPng(mask);
}

/**
 * Remove the shards of an earlier pack of `prefix` into `dir` in another number of shards: read
 * as one data set with the new ones (a folder of shards is read whole), its items counted twice.
 */
function removeOtherPacks(dir: string, prefix: string, shards: number): void {
  const ours = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{5}-of-(\\d{5})\\.tfrecord(?:\\.idx)?$`);
  for (const name of fs.readdirSync(dir)) {
    const m = ours.exec(name);
    if (m && Number(m[1]) !== shards) fs.rmSync(path.join(dir, name), { force: true });
  }
}

export async function packSource(source: DataSource, opts: PackOptions): Promise<PackResult> {
  const n = source.length;
  if (!Number.isInteger(opts.shards) || opts.shards < 1) throw new UserError(`--shards must be a whole number >= 1, got ${opts.shards}`);
  const shards = Math.min(opts.shards, Math.max(1, n));
  const prefix = opts.prefix ?? 'data';
  // A name, not a path: the shards go into --out and nowhere else.
  if (!prefix || prefix !== path.basename(prefix) || prefix === '.' || prefix === '..') throw new UserError(`--prefix ${JSON.stringify(prefix)}: expected a file name prefix without a folder (the shards go into --out)`);
  makeDirs(opts.out);
  const order = opts.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : new Random(opts.seed ?? 0).permutation(n);
  const result: PackResult = { shards: [], skipped: [] };
  let done = 0;
  for (let k = 0; k < shards; k++) {
    const file = path.join(opts.out, shardName(prefix, k, shards));
    const writer = new TFRecordWriter(file);
    try {
      const from = Math.floor((k * n) / shards);
      const to = Math.floor(((k + 1) * n) / shards);
      for (let i = from; i < to; i++) {
        const index = order[i];
        let where = `item ${index}`;
        try {
          const item = await source.item(index);
          where = item.where;
          if (item.boxes) throw new UserError(`${item.where}: this source has boxes (detection); TFRecord packing stores images, class labels and masks only, so boxes would be lost`);
          const img = await encodedImage(item.image, item.where);
          const features: Features = {
            [IMAGE_KEYS.encoded]: { bytes: [img.bytes] },
            [IMAGE_KEYS.format]: { bytes: [utf8(img.format)] },
          };
          if (item.label !== undefined) {
            features[IMAGE_KEYS.label] = { int64: [item.label] };
            const name = source.classes?.[item.label];
            if (name !== undefined) features[IMAGE_KEYS.text] = { bytes: [utf8(name)] };
          }
          if (img.height !== undefined && img.width !== undefined) {
            features[IMAGE_KEYS.height] = { int64: [img.height] };
            features[IMAGE_KEYS.width] = { int64: [img.width] };
          }
          if (img.channels !== undefined) features[IMAGE_KEYS.channels] = { int64: [img.channels] };
          if (img.filename) features[IMAGE_KEYS.filename] = { bytes: [utf8(img.filename)] };
          if (item.mask) {
            features[IMAGE_KEYS.mask] = { bytes: [encodedMask(item.mask, item.where, item.reduceZeroLabel)] };
            features[IMAGE_KEYS.maskFormat] = { bytes: [utf8('png')] };
          }
          writer.write(encodeExample(features));
        } catch (err) {
          if (!(err instanceof DataError) || !opts.skipCorrupt) throw err;
          result.skipped.push(describeItemError(err, where));
        }
        opts.onProgress?.(++done, n);
      }
      result.shards.push({ file, ...writer.close() });
    } catch (err) {
      writer.abort();
      // The shards finished before it would read as a whole, smaller data set: they go too.
      for (const done of result.shards) for (const f of [done.file, `${done.file}.idx`]) fs.rmSync(f, { force: true });
      throw err;
    }
  }
  removeOtherPacks(opts.out, prefix, shards);
  if (source.classes) {
    const tmp = path.join(opts.out, `classes.txt.tmp-${process.pid}`);
    fs.writeFileSync(tmp, source.classes.join('\n') + '\n');
    fs.renameSync(tmp, path.join(opts.out, 'classes.txt'));
  }
  return result;
}
