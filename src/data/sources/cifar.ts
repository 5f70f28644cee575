/**
 * CIFAR-10 from its binary batches (Krizhevsky, Learning Multiple Layers of Features from Tiny
 * Images, 2009): records of one label byte and 3072 pixel bytes (1024 red, 1024 green, 1024 blue,
 * row-major 32x32); `data_batch_1..5.bin` for train, `test_batch.bin` for test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import type { DataSource, OpenContext, SourceFactory, SourceItem } from '../types';
import { readBytes, readText, requireDir, subsetFor } from './common';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const SIDE = 32;
const PLANE = SIDE * SIDE;
export const CIFAR_RECORD = 1 + 3 * PLANE;

export class CifarSource implements DataSource {
  readonly channels = 3;

  constructor(
    private readonly batches: Array<{ file: string; bytes: Uint8Array; count: number }>,
    readonly classes: string[],
  ) {}

  get length(): number {
    return this.batches.reduce((n, b) => n + b.count, 0);
  }

  item(index: number): SourceItem {
    let i = index;
    for (const b of this.batches) {
      if (i < b.count) {
        const rec = b.bytes.subarray(i * CIFAR_RECORD, (i + 1) * CIFAR_RECORD);
        // Planar RGB to interleaved HWC.
        const hwc = new Uint8Array(3 * PLANE);
        for (let p = 0; p < PLANE; p++) {
          hwc[3 * p] = rec[1 + p];
          hwc[3 * p + 1] = rec[1 + PLANE + p];
          hwc[3 * p + 2] = rec[1 + 2 * PLANE + p];
        }
        return { image: { kind: 'pixels', data: hwc, height: SIDE, width: SIDE, channels: 3 }, label: rec[0], where: `${b.file}@${i * CIFAR_RECORD}` };
      }
      i -= b.count;
    }
    throw new RangeError(`index ${index} out of range (0 to ${this.length - 1})`);
  }
}

/** The folder holding the .bin batches: root itself or its `cifar-10-batches-bin` sub-folder. */
export function cifarBatchDir(root: string): string {
  requireDir(root, 'CIFAR-10 folder');
  const inner = path.join(root, 'cifar-10-batches-bin');
  return fs.existsSync(path.join(inner, 'test_batch.bin')) || fs.existsSync(path.join(inner, 'data_batch_1.bin')) ? inner : root;
}

export function openCifar10(root: string, subset: 'train' | 'test'): CifarSource {
  const dir = cifarBatchDir(root);
  const names = subset === 'train' ? [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`) : ['test_batch.bin'];
  const batches = names.map((n) => {
    const file = path.join(dir, n);
    if (!fs.existsSync(file)) throw new UserError(`CIFAR-10 ${subset} batch not found: ${file} (\`cvw data fetch cifar10\` downloads it)`);
    const bytes = readBytes(file, 'CIFAR-10 batch');
    if (bytes.length % CIFAR_RECORD !== 0) {
      const whole = Math.floor(bytes.length / CIFAR_RECORD);
      throw new UserError(`${file}: truncated: ${bytes.length} bytes is not a whole number of ${CIFAR_RECORD}-byte records; record ${whole} at byte ${whole * CIFAR_RECORD} is incomplete`);
    }
    return { file, bytes, count: bytes.length / CIFAR_RECORD };
  });
  const meta = path.join(dir, 'batches.meta.txt');
  const classes = fs.existsSync(meta) ? readText(meta, 'class names').split(/\r?\n/).map((l) => l.trim()).filter(Boolean) : CIFAR10_CLASSES;
  return new CifarSource(batches, classes);
}

register('source', {
  type: 'CIFAR10',
  description: 'CIFAR-10: 60,000 32x32 colour images in 10 classes (the binary batches)',
  paper: 'Krizhevsky, Learning Multiple Layers of Features from Tiny Images, 2009',
  params: z.strictObject({
    root: z.string().min(1).default('data/cifar10').describe('Folder with the .bin batches, or with the cifar-10-batches-bin folder of the archive'),
    subset: z.enum(['train', 'test']).optional().describe('train (50,000 images) or test (10,000); default: train for the train split, test otherwise'),
  }),
  build: (p): SourceFactory => ({
    type: 'CIFAR10',
    async open(ctx: OpenContext) {
      return openCifar10(ctx.resolvePath(p.root), subsetFor(p.subset, ctx));
    },
  }),
});
