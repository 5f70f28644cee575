/**
 * MNIST and Fashion-MNIST from their idx files (LeCun et al.; Xiao et al., arXiv:1708.07747),
 * gzipped or not: `{train,t10k}-images-idx3-ubyte[.gz]` and `{train,t10k}-labels-idx1-ubyte[.gz]`.
 * The pixels are read into memory once; items are raw 28x28 grey images (no decoding).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as buffer from 'node:buffer';
import * as zlib from 'node:zlib';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import type { DataSource, OpenContext, SourceFactory, SourceItem } from '../types';
import { readBytes, requireDir, subsetFor } from './common';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const IDX_UBYTE = 0x08;

/** An idx file's dimensions and its payload (the bytes after the header). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Dimensions from an idx header at the start of `bytes`, or undefined when `bytes` is too short to hold it. */
function headerOf(bytes: Uint8Array, file: string): { dims: number[]; headerSize: number } | undefined {
  if (bytes.length < 4) return undefined;
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new UserError(`${file}: not an idx file (the first bytes should be 0x00 0x00 then the type and the number of dimensions)`);
  if (bytes[2] !== IDX_UBYTE) throw new UserError(`${file}: idx element type 0x${bytes[2].toString(16)} is not supported; expected 0x08 (unsigned bytes)`);
  const headerSize = 4 + 4 * bytes[3];
  if (bytes.length < headerSize) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const dims: number[] = [];
  for (let d = 0; d < bytes[3]; d++) dims.push(view.getUint32(4 + 4 * d, false));
  return { dims, headerSize };
}

/**
 * Gunzip an idx file no further than its header announces. The header comes from a small prefix
 * of the compressed stream (a deflate byte expands to at most ~1 KB, so the prefix cannot
 * explode); then the whole stream is inflated with its announced size as the output's limit, so a
 * small file that expands to gigabytes stops at the size it claims instead of filling memory.
 */
function gunzipIdx(bytes: Uint8Array, file: string): Uint8Array {
  const damaged = (err: unknown) => new UserError(`${file}: damaged gzip data: ${(err as Error).message}`);
  let header: ReturnType<typeof headerOf>;
  for (let prefix = 64; !header; prefix *= 4) {
    let start: Buffer;
    try {
      start = zlib.gunzipSync(bytes.subarray(0, prefix), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (err) {
      throw damaged(err);
    }
    header = headerOf(start, file);
    if (!header && prefix >= bytes.length) throw new UserError(`${file}: truncated idx header (in the uncompressed data)`);
  }
  const announced = header.headerSize + header.dims.reduce((a, b) => a * b, 1);
  if (announced > buffer.constants.MAX_LENGTH) throw new UserError(`${file}: the idx header announces ${header.dims.join('x')} bytes of data, more than fits in memory`);
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: Math.max(announced, 1) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new UserError(`${file}: the gzip data expands past the ${announced.toLocaleString('en')} bytes (${header.dims.join('x')} plus a ${header.headerSize}-byte header) that its idx header announces; stopped there`);
    }
    throw damaged(err);
  }
}

/** Parse an idx file (gunzipping it first when it starts with the gzip magic). */
export function readIdx(file: string): IdxArray {
  let bytes: Uint8Array = readBytes(file, 'idx file');
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gzipped) bytes = gunzipIdx(bytes, file);
  const header = headerOf(bytes, file);
  if (!header) throw new UserError(bytes.length < 4 ? `${file}: not an idx file (the first bytes should be 0x00 0x00 then the type and the number of dimensions)` : `${file}: truncated idx header`);
  const { dims, headerSize } = header;
  const expected = dims.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerSize;
  if (have < expected) {
    const itemSize = dims.length > 1 ? expected / dims[0] : 1;
    const first = Math.floor(have / itemSize);
    throw new UserError(`${file}: truncated: the header announces ${dims.join('x')} = ${expected} bytes of data but the file holds ${have}; item ${first} (byte ${headerSize + first * itemSize}${gzipped ? ' of the uncompressed data' : ''}) is the first incomplete one`);
  }
  return { dims, data: bytes.subarray(headerSize, headerSize + expected) };
}

export class IdxSource implements DataSource {
  readonly channels = 1;
  private readonly height: number;
  private readonly width: number;

  constructor(
    private readonly images: IdxArray,
    private readonly labels: Uint8Array,
    private readonly imageFile: string,
    readonly classes: string[],
  ) {
    [, this.height, this.width] = images.dims;
  }

  get length(): number {
    return this.images.dims[0];
  }

  item(index: number): SourceItem {
    const size = this.height * this.width;
    return {
      image: { kind: 'pixels', data: this.images.data.subarray(index * size, (index + 1) * size), height: this.height, width: this.width, channels: 1 },
      label: this.labels[index],
      where: `${this.imageFile}[${index}]`,
    };
  }
}

/** The first of `names` that exists in `dir`, else an error listing them. */
function findFile(dir: string, names: string[], what: string): string {
  for (const n of names) {
    const p = path.join(dir, n);
    if (fs.existsSync(p)) return p;
  }
  throw new UserError(`${what} not found in ${dir}: expected ${names.join(' or ')} (\`cvw data fetch\` downloads them)`);
}

export function openIdxPair(imagesFile: string, labelsFile: string, classes: string[]): IdxSource {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length !== 3) throw new UserError(`${imagesFile}: expected a 3-dimensional idx file (count x height x width), got ${images.dims.join('x')}`);
  if (labels.dims.length !== 1) throw new UserError(`${labelsFile}: expected a 1-dimensional idx file of labels, got ${labels.dims.join('x')}`);
  if (labels.dims[0] !== images.dims[0]) throw new UserError(`${labelsFile} holds ${labels.dims[0]} labels but ${imagesFile} holds ${images.dims[0]} images`);
  return new IdxSource(images, labels.data, imagesFile, classes);
}

function openIdxDataset(root: string, subset: 'train' | 'test', classes: string[], name: string): IdxSource {
  requireDir(root, `${name} folder`);
  const prefix = subset === 'train' ? 'train' : 't10k';
  const imagesFile = findFile(root, [`${prefix}-images-idx3-ubyte.gz`, `${prefix}-images-idx3-ubyte`, `${prefix}-images.idx3-ubyte`], `${name} ${subset} images`);
  const labelsFile = findFile(root, [`${prefix}-labels-idx1-ubyte.gz`, `${prefix}-labels-idx1-ubyte`, `${prefix}-labels.idx1-ubyte`], `${name} ${subset} labels`);
  return openIdxPair(imagesFile, labelsFile, classes);
}

const idxParams = (defaultRoot: string) =>
  z.strictObject({
    root: z.string().min(1).default(defaultRoot).describe('Folder with the idx files, gzipped or not'),
    subset: z.enum(['train', 'test']).optional().describe('train (60,000 images) or test (10,000); default: train for the train split, test otherwise'),
  });

function registerIdx(type: string, description: string, paper: string, defaultRoot: string, classes: string[]): void {
  register('source', {
    type,
    description,
    paper,
    params: idxParams(defaultRoot),
    build: (p): SourceFactory => ({
      type,
      async open(ctx: OpenContext) {
        return openIdxDataset(ctx.resolvePath(p.root), subsetFor(p.subset, ctx), classes, type);
      },
    }),
  });
}

registerIdx('FashionMNIST', 'Fashion-MNIST: 70,000 28x28 grey images of clothing in 10 classes (idx files)', 'Xiao, Rasul and Vollgraf, Fashion-MNIST, arXiv:1708.07747', 'data/fashion-mnist', FASHION_MNIST_CLASSES);
registerIdx('MNIST', 'MNIST: 70,000 28x28 grey images of handwritten digits (idx files)', 'LeCun, Bottou, Bengio and Haffner, Gradient-Based Learning Applied to Document Recognition, Proc. IEEE 1998', 'data/mnist', MNIST_CLASSES);
