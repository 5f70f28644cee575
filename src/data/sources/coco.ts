/**
 * COCO detection annotations (Lin et al., Microsoft COCO: Common Objects in Context, ECCV 2014,
 * arXiv:1405.0312): an instances JSON with `images`, `annotations` (bbox [x, y, w, h] in pixels)
 * and `categories`. Category ids map to contiguous labels in id order. Crowd annotations are no
 * training targets (YOLOX, mmdetection leave them out); they travel beside the boxes as `crowd`
 * so that evaluation treats them as pycocotools does, and every box keeps its `area`.
 *
 * Opening checks every annotation: a box outside its image, a box without area, an unknown
 * category or image id, and a missing image file are errors naming the annotation (and image) id;
 * with `data.skip_corrupt: true` the annotation (or image) is left out and counted instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { describeValue } from '../../core/format';
import type { Box, DataSource, OpenContext, SourceFactory, SourceItem } from '../types';
import { channelsOf, colorParam, readText, requireDir } from './common';

interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: number[];
  area?: number;
  iscrowd?: number;
}

interface CocoFile {
  images: CocoImage[];
  annotations?: CocoAnnotation[];
  categories: Array<{ id: number; name: string }>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A COCO id: an integer JSON can carry exactly. */
export function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** What is wrong with the shape of an `images` entry (the field, if one), or undefined. */
function imageShapeProblem(im: unknown): { field?: string; problem: string } | undefined {
  if (!isObject(im)) return { problem: `expected a mapping {id, file_name, width, height}, got ${describeValue(im)}` };
  if (!isId(im.id)) return { field: 'id', problem: `expected an integer, got ${describeValue(im.id)}` };
  if (typeof im.file_name !== 'string' || im.file_name === '') return { field: 'file_name', problem: `expected the image's file name, got ${describeValue(im.file_name)}` };
  for (const k of ['width', 'height'] as const) if (typeof im[k] !== 'number') return { field: k, problem: `expected a number of pixels, got ${describeValue(im[k])}` };
  return undefined;
}

export class CocoSource implements DataSource {
  constructor(
    private readonly images: Array<{ file: string; id: number; width: number; height: number; boxes: Box[]; crowd: Box[] }>,
    readonly classes: string[],
    readonly categoryIds: number[],
    readonly channels: number,
    private readonly annFile: string,
  ) {}

  get length(): number {
    return this.images.length;
  }

  item(index: number): SourceItem {
    const im = this.images[index];
    const copy = (b: Box): Box => ({ ...b, bbox: [...b.bbox] as Box['bbox'] });
    return { image: { kind: 'file', path: im.file }, boxes: im.boxes.map(copy), crowd: im.crowd.length ? im.crowd.map(copy) : undefined, imageId: im.id, where: `${this.annFile} image ${im.id} (${im.file})` };
  }

  /** Width and height the annotations give for item `index`. */
  sizeOf(index: number): { width: number; height: number } {
    return this.images[index];
  }
}

export interface CocoOptions {
  /** Tolerance in pixels for boxes that overhang their image (rounding in the annotation tools). */
  tolerance: number;
  filterEmpty: boolean;
  checkFiles: boolean;
  channels: number;
}

export function openCoco(annFile: string, imgDir: string, options: CocoOptions, ctx: Pick<OpenContext, 'skipCorrupt' | 'skip'>): CocoSource {
  let json: CocoFile;
  try {
    json = JSON.parse(readText(annFile, 'COCO annotation file')) as CocoFile;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${annFile}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw new UserError(`${annFile}: expected a COCO instances file (a mapping with "images" and "categories" lists), got ${describeValue(json)}`);
  for (const key of ['images', 'categories'] as const) {
    if (!Array.isArray(json[key])) throw new UserError(`${annFile}: expected a COCO instances file with an "${key}" list`);
  }
  requireDir(imgDir, 'COCO image folder');
  const problems: string[] = [];
  const bad = (where: string, reason: string) => {
    if (ctx.skipCorrupt) ctx.skip(where, reason);
    else problems.push(`${where}: ${reason}`);
  };
  json.categories.forEach((c, i) => {
    const problem = !isObject(c) ? `expected a mapping {id, name}, got ${describeValue(c)}` : !isId(c.id) ? `id: expected an integer, got ${describeValue(c.id)}` : typeof c.name !== 'string' ? `name: expected a string, got ${describeValue(c.name)}` : undefined;
    if (problem) throw new UserError(`${annFile}: categories[${i}]${problem.startsWith('expected') ? ': ' : '.'}${problem}`);
  });
  const cats = [...json.categories].sort((a, b) => a.id - b.id);
  const labelOf = new Map(cats.map((c, i) => [c.id, i]));
  // Built once and cut short: listing every id in each unknown-category problem made a 4 MB file
  // (100,000 categories, 20,000 such annotations) build gigabytes of messages until the heap ran out.
  const catIds = `${cats.slice(0, 20).map((c) => c.id).join(', ')}${cats.length > 20 ? `, ... (${cats.length.toLocaleString('en-US')} in all)` : ''}`;
  const byId = new Map<number, { file: string; id: number; width: number; height: number; boxes: Box[]; crowd: Box[]; ok: boolean }>();
  for (const [i, im] of json.images.entries()) {
    const shape = imageShapeProblem(im);
    if (shape) {
      bad(`${annFile} images[${i}]${shape.field ? '.' + shape.field : ''}`, shape.problem);
      continue;
    }
    if (byId.has(im.id)) {
      bad(`${annFile} images[${i}].id`, `image id ${im.id} appears twice`);
      continue;
    }
    const file = path.resolve(imgDir, im.file_name);
    const entry = { file, id: im.id, width: im.width, height: im.height, boxes: [] as Box[], crowd: [] as Box[], ok: true };
    if (!(im.width > 0 && im.height > 0)) {
      bad(`${annFile} image ${im.id}`, `width and height must be positive, got ${im.width}x${im.height}`);
      entry.ok = false;
    } else if (options.checkFiles && !fs.existsSync(file)) {
      bad(`${annFile} image ${im.id}`, `image file not found: ${file}`);
      entry.ok = false;
    }
    byId.set(im.id, entry);
  }
  if (json.annotations !== undefined && !Array.isArray(json.annotations)) throw new UserError(`${annFile}: annotations: expected a list, got ${describeValue(json.annotations)}`);
  for (const [i, a] of (json.annotations ?? []).entries()) {
    if (!isObject(a)) {
      bad(`${annFile} annotations[${i}]`, `expected a mapping {id, image_id, category_id, bbox}, got ${describeValue(a)}`);
      continue;
    }
    const where = `${annFile} annotation ${isId(a.id) ? a.id : `annotations[${i}]`}`;
    const im = byId.get(a.image_id);
    if (!im) {
      bad(where, `unknown image_id ${a.image_id}`);
      continue;
    }
    const label = labelOf.get(a.category_id);
    if (label === undefined) {
      bad(where, `unknown category_id ${a.category_id} (image ${a.image_id}); categories are ${catIds}`);
      continue;
    }
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4 || !a.bbox.every(Number.isFinite)) {
      bad(`${where} (annotations[${i}].bbox)`, `bbox must be [x, y, width, height], got ${describeValue(a.bbox)} (image ${a.image_id})`);
      continue;
    }
    let [x, y, w, h] = a.bbox;
    if (!(w > 0 && h > 0)) {
      bad(where, `zero-area box [${a.bbox.join(', ')}] (width and height must be > 0) in image ${a.image_id}`);
      continue;
    }
    const t = options.tolerance;
    if (x < -t || y < -t || x + w > im.width + t || y + h > im.height + t) {
      bad(where, `box [${a.bbox.join(', ')}] lies outside image ${a.image_id} (${im.width}x${im.height})`);
      continue;
    }
    // Clip the overhang the tolerance allows.
    const x2 = Math.min(x + w, im.width);
    const y2 = Math.min(y + h, im.height);
    x = Math.max(0, x);
    y = Math.max(0, y);
    w = x2 - x;
    h = y2 - y;
    const area = typeof a.area === 'number' && a.area >= 0 ? a.area : undefined;
    (a.iscrowd ? im.crowd : im.boxes).push({ bbox: [x, y, w, h], label, id: a.id, ...(area !== undefined ? { area } : {}) });
  }
  if (problems.length) {
    const shown = problems.slice(0, 20);
    const more = problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : '';
    throw new UserError(`${problems.length} problem${problems.length === 1 ? '' : 's'} in the COCO annotations (set data.skip_corrupt: true to skip and count them):\n  ${shown.join('\n  ')}${more}`);
  }
  const images = [...byId.values()].filter((im) => im.ok && (!options.filterEmpty || im.boxes.length > 0));
  if (!images.length) throw new UserError(`${annFile}: no usable images`);
  return new CocoSource(images, cats.map((c) => c.name), cats.map((c) => c.id), options.channels, annFile);
}

register('source', {
  type: 'COCO',
  description: 'COCO-style detection data: an instances JSON of images, boxes and categories, and an image folder',
  paper: 'Lin et al., Microsoft COCO: Common Objects in Context, ECCV 2014, arXiv:1405.0312',
  params: z.strictObject({
    ann_file: z.string().min(1).describe('The instances JSON (e.g. annotations/instances_train2017.json)'),
    img_dir: z.string().min(1).describe('Folder the images\' file_name fields are relative to'),
    filter_empty: z.boolean().default(false).describe('Leave out images without any (non-crowd) box, as detectors usually do in training'),
    box_tolerance: z.number().min(0).default(1).describe('Pixels a box may overhang its image before it counts as outside (the overhang is clipped)'),
    check_files: z.boolean().default(true).describe('Check that every image file exists when opening'),
    color: colorParam,
  }),
  build: (p): SourceFactory => ({
    type: 'COCO',
    async open(ctx) {
      return openCoco(ctx.resolvePath(p.ann_file), ctx.resolvePath(p.img_dir), { tolerance: p.box_tolerance, filterEmpty: p.filter_empty, checkFiles: p.check_files, channels: channelsOf(p.color) }, ctx);
    },
  }),
});
