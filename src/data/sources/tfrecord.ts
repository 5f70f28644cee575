/**
 * TFRecord shards of `tf.train.Example` images (`image/encoded`, `image/format`,
 * `image/class/label`; segmentation masks as `image/segmentation/class/encoded` PNGs), read at random through DALI-style index files (`<shard>.idx`, built by
 * scanning the shard when missing). Every record read is checked against both of its CRCs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { DataError } from '../errors';
import { decodeExample, bytesOf, int64Of, stringOf, IMAGE_KEYS } from '../tfrecord/example';
import { parseIndex, readRecordSync, scanRecords, TFRecordError, type RecordSpan } from '../tfrecord/records';
import type { DataSource, OpenContext, SourceFactory, SourceItem } from '../types';
import { channelsOf, classesParam, loadClasses, readText } from './common';

/** The index file of a shard: `<shard>.idx` beside it, or in `indexDir`. */
export function indexFileFor(shard: string, indexDir?: string): string {
  return indexDir ? path.join(indexDir, path.basename(shard) + '.idx') : shard + '.idx';
}

function isShardName(name: string): boolean {
  return !name.endsWith('.idx') && (/\.tfrecords?(-\d+-of-\d+)?$/.test(name) || /\.tfrecords?\b/.test(name) || /-\d{5}-of-\d{5}$/.test(name));
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
}

/** The shard files named by a file, a folder (every shard in it) or a pattern with * in the file name. */
export function expandShards(spec: string): string[] {
  if (/[*?]/.test(path.basename(spec))) {
    const dir = path.dirname(spec);
    const re = globToRegExp(path.basename(spec));
    const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => re.test(n) && !n.endsWith('.idx')).sort() : [];
    if (!names.length) throw new UserError(`no TFRecord files match ${spec}`);
    return names.map((n) => path.join(dir, n));
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(spec);
  } catch {
    throw new UserError(`TFRecord file or folder not found: ${spec}`);
  }
  if (!st.isDirectory()) return [spec];
  const names = fs.readdirSync(spec).filter(isShardName).sort();
  if (!names.length) throw new UserError(`${spec}: no TFRecord shards in this folder (expected names ending in .tfrecord or like train-00000-of-00004)`);
  return names.map((n) => path.join(spec, n));
}

interface Shard {
  file: string;
  fd: number;
  spans: RecordSpan[];
}

export class TFRecordSource implements DataSource {
  private readonly starts: number[] = [];
  readonly length: number;

  constructor(
    private readonly shards: Shard[],
    readonly classes: string[] | undefined,
    readonly channels: number,
    private readonly labelOffset: number,
  ) {
    let n = 0;
    for (const s of shards) {
      this.starts.push(n);
      n += s.spans.length;
    }
    this.length = n;
  }

  /** The shard and record of a dataset index (binary search over the shards' first indices). */
  locate(index: number): { shard: Shard; span: RecordSpan } {
    let lo = 0;
    let hi = this.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    const shard = this.shards[lo];
    return { shard, span: shard.spans[index - this.starts[lo]] };
  }

  item(index: number): SourceItem {
    const { shard, span } = this.locate(index);
    const where = `${shard.file}@${span.offset}`;
    let features;
    try {
      features = decodeExample(readRecordSync(shard.fd, shard.file, span));
    } catch (err) {
      if (err instanceof TFRecordError) throw new DataError(where, err.reason);
      throw new DataError(where, `not a tf.train.Example: ${(err as Error).message}`);
    }
    const bytes = bytesOf(features, IMAGE_KEYS.encoded);
    if (!bytes) throw new DataError(where, `the record has no "${IMAGE_KEYS.encoded}" bytes feature (keys: ${Object.keys(features).join(', ') || 'none'})`);
    const raw = int64Of(features, IMAGE_KEYS.label);
    const mask = bytesOf(features, IMAGE_KEYS.mask);
    return {
      image: { kind: 'encoded', bytes, format: stringOf(features, IMAGE_KEYS.format) },
      label: raw === undefined ? undefined : raw - this.labelOffset,
      ...(mask ? { mask: { kind: 'encoded' as const, bytes: mask, format: stringOf(features, IMAGE_KEYS.maskFormat) ?? 'png' } } : {}),
      where,
    };
  }

  close(): void {
    for (const s of this.shards) {
      if (s.fd >= 0) fs.closeSync(s.fd);
      s.fd = -1;
    }
  }
}

/** Open shards, reading their index files (or scanning the shards when an index is missing). */
export function openTFRecord(files: string[], options: { indexDir?: string; classes?: string[]; channels?: number; labelOffset?: number } = {}): TFRecordSource {
  const shards: Shard[] = files.map((file) => {
    let fd: number;
    try {
      // Non-blocking, so that a FIFO named as a shard is refused below instead of waiting for a writer.
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      throw new UserError(`TFRecord file not found: ${file}`);
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      fs.closeSync(fd);
      throw new UserError(`TFRecord file ${file} is not a regular file (a folder, FIFO or device)`);
    }
    const size = st.size;
    const idx = indexFileFor(file, options.indexDir);
    const spans = fs.existsSync(idx) ? parseIndex(readText(idx, 'TFRecord index file'), idx, size) : scanRecords(file);
    return { file, fd, spans };
  });
  let classes = options.classes;
  if (!classes) {
    const beside = path.join(path.dirname(files[0]), 'classes.txt');
    if (fs.existsSync(beside)) classes = readText(beside, 'class-names file').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  }
  return new TFRecordSource(shards, classes, options.channels ?? channelsOfFirstRecord(shards), options.labelOffset ?? 0);
}

/** 1 when the first record says `image/channels: 1`, else 3. */
function channelsOfFirstRecord(shards: Shard[]): number {
  const first = shards.find((s) => s.spans.length);
  if (!first) return 3;
  try {
    return int64Of(decodeExample(readRecordSync(first.fd, first.file, first.spans[0])), IMAGE_KEYS.channels) === 1 ? 1 : 3;
  } catch {
    return 3; // a damaged first record is reported when it is read
  }
}

register('source', {
  type: 'TFRecord',
  description: 'TFRecord shards of tf.train.Example images (image/encoded, image/format, image/class/label, masks as image/segmentation/class/encoded), with DALI index files',
  paper: 'TensorFlow TFRecord format; EasyCV packs ImageNet as TFRecord read by DALI',
  params: z.strictObject({
    files: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe('Shards: a file, a folder (every shard in it), a pattern like data/train-*-of-00016, or a list of these'),
    index_dir: z.string().optional().describe('Folder of the .idx index files (default: beside each shard; missing ones are built by scanning the shard)'),
    classes: classesParam.describe('Class names in label order, or a file of names (default: classes.txt beside the shards, if present)'),
    label_offset: z.number().int().default(0).describe('Subtracted from image/class/label (1 for TensorFlow\'s ImageNet shards, whose labels start at 1)'),
    color: z.enum(['auto', 'rgb', 'grey']).default('auto').describe('Decode to RGB or grey; auto: what the first record\'s image/channels says (1 = grey), else RGB'),
  }),
  build: (p): SourceFactory => ({
    type: 'TFRecord',
    async open(ctx: OpenContext) {
      const specs = Array.isArray(p.files) ? p.files : [p.files];
      const files = specs.flatMap((s) => expandShards(ctx.resolvePath(s)));
      return openTFRecord(files, {
        indexDir: p.index_dir !== undefined ? ctx.resolvePath(p.index_dir) : undefined,
        classes: loadClasses(p.classes, ctx),
        channels: p.color === 'auto' ? undefined : channelsOf(p.color),
        labelOffset: p.label_offset,
      });
    },
  }),
});
