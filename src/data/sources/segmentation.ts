/**
 * Semantic segmentation sources: images with a mask of class indices each.
 *
 * - `SegFolder`: an image folder and a mask folder with the same relative names (masks `.png`),
 *   e.g. `images/` + `masks/` (what `cvw data synth shapes --masks` writes); `reduce_zero_label`
 *   for masks whose 0 means unlabelled (ADE20K), as mmsegmentation's.
 * - `VOCSegmentation`: the Pascal VOC layout (Everingham et al., IJCV 2010): `JPEGImages/`,
 *   `SegmentationClass/` (indexed PNGs, 255 = object borders to ignore) and
 *   `ImageSets/Segmentation/<subset>.txt`.
 *
 * Masks are indexed (palette) or 8-bit grey PNGs; their pixel values are the class indices. Class
 * names come from the config (`classes`), else a `classes.txt` beside the masks, else VOC's 21.
 * Opening checks that every image has its mask (a missing one names the image).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import type { DataSource, OpenContext, SourceFactory, SourceItem } from '../types';
import { channelsOf, classesParam, colorParam, listImages, loadClasses, readText, requireDir } from './common';

export const VOC_CLASSES = [
  'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

export class SegSource implements DataSource {
  constructor(
    private readonly pairs: Array<{ image: string; mask: string }>,
    readonly classes: string[] | undefined,
    readonly channels: number,
    private readonly reduceZeroLabel = false,
  ) {}

  get length(): number {
    return this.pairs.length;
  }

  item(index: number): SourceItem {
    const p = this.pairs[index];
    return { image: { kind: 'file', path: p.image }, mask: { kind: 'file', path: p.mask }, ...(this.reduceZeroLabel ? { reduceZeroLabel: true } : {}), where: p.image };
  }

  /** The mask file of item `index` (inspection, reports). */
  maskFile(index: number): string {
    return this.pairs[index].mask;
  }
}

/** Pairs whose mask exists; the others are errors (or skipped with data.skip_corrupt). */
function checkPairs(pairs: Array<{ image: string; mask: string }>, ctx: OpenContext, what: string): Array<{ image: string; mask: string }> {
  const ok: Array<{ image: string; mask: string }> = [];
  const problems: string[] = [];
  for (const p of pairs) {
    if (fs.existsSync(p.mask)) ok.push(p);
    else if (ctx.skipCorrupt) ctx.skip(p.image, `mask not found: ${p.mask}`);
    else problems.push(`${p.image}: mask not found: ${p.mask}`);
  }
  if (problems.length) {
    const more = problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : '';
    throw new UserError(`${problems.length} image${problems.length === 1 ? ' has' : 's have'} no mask in ${what} (set data.skip_corrupt: true to skip them):\n  ${problems.slice(0, 10).join('\n  ')}${more}`);
  }
  if (!ok.length) throw new UserError(`${what}: no images with masks`);
  return ok;
}

/** Class names: the config's, else `classes.txt` in one of `dirs`, else `fallback`. */
function classesFor(value: string[] | string | undefined, ctx: OpenContext, dirs: string[], fallback?: string[]): string[] | undefined {
  const given = loadClasses(value, ctx);
  if (given) return given;
  for (const d of dirs) {
    const file = path.join(d, 'classes.txt');
    if (fs.existsSync(file)) return loadClasses(file, ctx);
  }
  return fallback;
}

register('source', {
  type: 'SegFolder',
  description: 'Segmentation: an image folder and a mask folder (indexed or grey PNGs, or 8-bit PGMs, of class indices) with the same file names',
  paper: 'mmsegmentation CustomDataset (img_dir + ann_dir)',
  params: z.strictObject({
    root: z.string().optional().describe('Folder holding images/ and masks/ (the defaults of img_dir and mask_dir)'),
    img_dir: z.string().optional().describe('Image folder (default: <root>/images)'),
    mask_dir: z.string().optional().describe('Mask folder: <mask_dir>/<image path without extension><mask_suffix> (default: <root>/masks)'),
    mask_suffix: z.string().default('.png').describe('Ending of mask file names (.png; .pgm for 8-bit PGM masks)'),
    reduce_zero_label: z.boolean().default(false).describe("Masks whose 0 means unlabelled (ADE20K): 0 is ignored (255) and every other value is one less, as mmsegmentation's reduce_zero_label"),
    classes: classesParam,
    color: colorParam,
  }),
  build: (p): SourceFactory => ({
    type: 'SegFolder',
    async open(ctx) {
      if (!p.root && (!p.img_dir || !p.mask_dir)) throw new UserError('SegFolder: set root (with images/ and masks/ in it), or both img_dir and mask_dir');
      const imgDir = ctx.resolvePath(p.img_dir ?? path.join(p.root!, 'images'));
      const maskDir = ctx.resolvePath(p.mask_dir ?? path.join(p.root!, 'masks'));
      requireDir(imgDir, 'SegFolder image folder');
      requireDir(maskDir, 'SegFolder mask folder');
      const pairs = listImages(imgDir).map((image) => {
        const rel = path.relative(imgDir, image);
        return { image, mask: path.join(maskDir, rel.slice(0, rel.length - path.extname(rel).length) + p.mask_suffix) };
      });
      const classes = classesFor(p.classes, ctx, [maskDir, path.dirname(maskDir), ...(p.root ? [ctx.resolvePath(p.root)] : [])]);
      return new SegSource(checkPairs(pairs, ctx, maskDir), classes, channelsOf(p.color), p.reduce_zero_label);
    },
  }),
});

register('source', {
  type: 'VOCSegmentation',
  description: 'Pascal VOC segmentation: JPEGImages/, SegmentationClass/ and ImageSets/Segmentation/<subset>.txt',
  paper: 'Everingham et al., The PASCAL Visual Object Classes (VOC) Challenge, IJCV 2010',
  params: z.strictObject({
    root: z.string().min(1).describe('The VOC folder (e.g. VOCdevkit/VOC2012)'),
    subset: z.string().optional().describe('List in ImageSets/Segmentation (train, val, trainval; default: train for training, val otherwise)'),
    classes: classesParam.describe('Class names in index order (default: the 21 VOC classes, background first)'),
    color: colorParam,
  }),
  build: (p): SourceFactory => ({
    type: 'VOCSegmentation',
    async open(ctx) {
      const root = ctx.resolvePath(p.root);
      requireDir(root, 'VOC folder');
      const subset = p.subset ?? (ctx.split === 'train' ? 'train' : 'val');
      const list = path.join(root, 'ImageSets', 'Segmentation', `${subset}.txt`);
      const names = readText(list, 'VOC image list').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      const pairs = names.map((n) => ({ image: path.join(root, 'JPEGImages', `${n}.jpg`), mask: path.join(root, 'SegmentationClass', `${n}.png`) }));
      const missing = pairs.findIndex((q) => !fs.existsSync(q.image));
      if (missing >= 0 && !ctx.skipCorrupt) throw new UserError(`${list}:${missing + 1}: image not found: ${pairs[missing].image}`);
      const present = pairs.filter((q, i) => {
        if (fs.existsSync(q.image)) return true;
        ctx.skip(`${list}:${i + 1}`, `image not found: ${q.image}`);
        return false;
      });
      return new SegSource(checkPairs(present, ctx, list), classesFor(p.classes, ctx, [], VOC_CLASSES), channelsOf(p.color));
    },
  }),
});
