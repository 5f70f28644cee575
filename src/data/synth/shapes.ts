/**
 * A synthetic detection data set: circles, squares and triangles of random colours and sizes
 * drawn (antialiased, 4x4 supersampling) on gradient backgrounds, with exact boxes, written as
 * PNG files and COCO instances JSON per split. Small enough to train a detector on a laptop CPU,
 * hard enough that box precision matters: COCO mAP@[.5:.95] rewards tight boxes.
 *
 *   out/train/000000.png ...   out/annotations/instances_train.json
 *   out/val/000000.png ...     out/annotations/instances_val.json
 *
 * With `masks`, a segmentation mask per image too (indexed PNGs, VOC colours: 0 background,
 * 1 circle, 2 square, 3 triangle — a pixel belongs to the top shape covering at least half of it):
 *
 *   out/masks/train/000000.png ...  out/masks/classes.txt
 *
 * Everything derives from `seed`: the same options give byte-identical files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Random, randomFor } from '../../core/random';
import { UserError } from '../../core/problems';
import { loadSharp } from '../decode';
import { encodeMaskPng } from '../masks/png';
import { makeDirs } from '../../core/makeDirs';

export const SHAPE_CLASSES = ['circle', 'square', 'triangle'] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

export interface ShapesOptions {
  out: string;
  /** Images per split. */
  splits: Record<string, number>;
  /** Image side in pixels (square images). */
  size: number;
  minShapes: number;
  maxShapes: number;
  /** Shape size (circle diameter, square side, triangle side) in pixels. */
  minSide: number;
  maxSide: number;
  /** Largest overlap of two boxes, as a fraction of the smaller one (occlusion stays partial). */
  maxOverlap: number;
  seed: number;
  /** Also write a segmentation mask of every image (out/masks/<split>/). */
  masks?: boolean;
}

/** Class names of the masks: background first, then the shapes (mask value = index). */
export const SHAPE_MASK_CLASSES = ['background', ...SHAPE_CLASSES];

export const SHAPES_DEFAULTS: Omit<ShapesOptions, 'out'> = { splits: { train: 4000, val: 400 }, size: 96, minShapes: 1, maxShapes: 4, minSide: 12, maxSide: 48, maxOverlap: 0.2, seed: 0 };

interface Shape {
  kind: ShapeClass;
  /** Polygon vertices (square, triangle) or centre and radius (circle). */
  points?: Array<[number, number]>;
  cx: number;
  cy: number;
  r: number;
  color: [number, number, number];
  bbox: [number, number, number, number];
}

export interface ShapesSummary {
  out: string;
  splits: Record<string, { images: number; boxes: number; annFile: string; imgDir: string; maskDir?: string }>;
}

function luma(c: [number, number, number]): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

function randomColor(rng: Random): [number, number, number] {
  return [rng.int(256), rng.int(256), rng.int(256)];
}

/** A shape colour that stands out from the background (luma at least 60 apart, or a strong hue difference). */
function contrastingColor(rng: Random, bg: [number, number, number]): [number, number, number] {
  for (let i = 0; i < 50; i++) {
    const c = randomColor(rng);
    const dl = Math.abs(luma(c) - luma(bg));
    const dc = Math.abs(c[0] - bg[0]) + Math.abs(c[1] - bg[1]) + Math.abs(c[2] - bg[2]);
    if (dl > 60 || (dl > 30 && dc > 200)) return c;
  }
  return luma(bg) > 128 ? [20, 20, 20] : [235, 235, 235];
}

/** Intersection over the smaller box: a shape never hides most of another, even a much smaller one. */
function overlap(a: number[], b: number[]): number {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / Math.min(a[2] * a[3], b[2] * b[3]);
}

function makeShape(kind: ShapeClass, side: number, cx: number, cy: number, rng: Random, color: [number, number, number]): Shape {
  if (kind === 'circle') {
    const r = side / 2;
    return { kind, cx, cy, r, color, bbox: [cx - r, cy - r, side, side] };
  }
  let points: Array<[number, number]>;
  if (kind === 'square') {
    const h = side / 2;
    points = [
      [cx - h, cy - h],
      [cx + h, cy - h],
      [cx + h, cy + h],
      [cx - h, cy + h],
    ];
  } else {
    // Equilateral, turned by a random angle about its centroid.
    const R = side / Math.sqrt(3);
    const turn = rng.uniform(0, (2 * Math.PI) / 3);
    points = [0, 1, 2].map((k) => [cx + R * Math.sin(turn + (2 * Math.PI * k) / 3), cy - R * Math.cos(turn + (2 * Math.PI * k) / 3)] as [number, number]);
  }
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const x1 = Math.min(...xs);
  const y1 = Math.min(...ys);
  return { kind, points, cx, cy, r: side / 2, color, bbox: [x1, y1, Math.max(...xs) - x1, Math.max(...ys) - y1] };
}

function inside(s: Shape, x: number, y: number): boolean {
  if (!s.points) return (x - s.cx) ** 2 + (y - s.cy) ** 2 <= s.r * s.r;
  // Convex polygon: on the same side of every edge.
  let sign = 0;
  const p = s.points;
  for (let i = 0; i < p.length; i++) {
    const [ax, ay] = p[i];
    const [bx, by] = p[(i + 1) % p.length];
    const cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    if (cross !== 0) {
      if (sign === 0) sign = Math.sign(cross);
      else if (Math.sign(cross) !== sign) return false;
    }
  }
  return true;
}

/** Draw `s` into the RGB float image with 4x4 supersampled coverage. */
function draw(pixels: Float32Array, size: number, s: Shape): void {
  const [bx, by, bw, bh] = s.bbox;
  const x0 = Math.max(0, Math.floor(bx));
  const y0 = Math.max(0, Math.floor(by));
  const x1 = Math.min(size, Math.ceil(bx + bw));
  const y1 = Math.min(size, Math.ceil(by + bh));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      let hits = 0;
      for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) if (inside(s, x + (sx + 0.5) / 4, y + (sy + 0.5) / 4)) hits++;
      if (!hits) continue;
      const a = hits / 16;
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) pixels[o + c] = pixels[o + c] * (1 - a) + s.color[c] * a;
    }
  }
}

/** Paint `value` where `s` covers at least half of a pixel (8 of its 4x4 samples). */
function paintMask(mask: Uint8Array, size: number, s: Shape, value: number): void {
  const [bx, by, bw, bh] = s.bbox;
  for (let y = Math.max(0, Math.floor(by)); y < Math.min(size, Math.ceil(by + bh)); y++) {
    for (let x = Math.max(0, Math.floor(bx)); x < Math.min(size, Math.ceil(bx + bw)); x++) {
      let hits = 0;
      for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) if (inside(s, x + (sx + 0.5) / 4, y + (sy + 0.5) / 4)) hits++;
      if (hits >= 8) mask[y * size + x] = value;
    }
  }
}

/** The segmentation mask of an image's shapes, drawn in the same order as the image (later on top). */
export function shapesMask(shapes: Shape[], size: number): Uint8Array {
  const mask = new Uint8Array(size * size);
  for (const s of shapes) paintMask(mask, size, s, SHAPE_MASK_CLASSES.indexOf(s.kind));
  return mask;
}

/** One image: background and shapes, from its own random stream. */
export function drawImage(opts: Pick<ShapesOptions, 'size' | 'minShapes' | 'maxShapes' | 'minSide' | 'maxSide' | 'maxOverlap'>, rng: Random): { pixels: Uint8Array; shapes: Shape[] } {
  const size = opts.size;
  const a = randomColor(rng);
  // A low-contrast gradient: the second colour near the first.
  const b = a.map((v) => Math.min(255, Math.max(0, v + rng.int(81) - 40))) as [number, number, number];
  const angle = rng.uniform(0, 2 * Math.PI);
  const pixels = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = 0.5 + (((x - size / 2) * Math.cos(angle) + (y - size / 2) * Math.sin(angle)) / size) * 0.7;
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) pixels[o + c] = a[c] * (1 - t) + b[c] * t;
    }
  }
  const bg = a.map((v, c) => (v + b[c]) / 2) as [number, number, number];
  const count = opts.minShapes + rng.int(opts.maxShapes - opts.minShapes + 1);
  const shapes: Shape[] = [];
  for (let n = 0; n < count; n++) {
    for (let attempt = 0; attempt < 30; attempt++) {
      const kind = SHAPE_CLASSES[rng.int(SHAPE_CLASSES.length)];
      const side = rng.uniform(opts.minSide, opts.maxSide);
      const margin = side / 2 + 1;
      const cx = rng.uniform(margin, size - margin);
      const cy = rng.uniform(margin, size - margin);
      const s = makeShape(kind, side, cx, cy, rng, contrastingColor(rng, bg));
      const [x, y, w, h] = s.bbox;
      if (x < 0 || y < 0 || x + w > size || y + h > size) continue;
      if (shapes.some((o) => overlap(o.bbox, s.bbox) > opts.maxOverlap)) continue;
      shapes.push(s);
      break;
    }
  }
  for (const s of shapes) draw(pixels, size, s);
  return { pixels: Uint8Array.from(pixels, (v) => Math.round(v)), shapes };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Write the data set; returns where everything went. */
export async function synthShapes(options: ShapesOptions, progress?: (done: number, total: number) => void): Promise<ShapesSummary> {
  const o = options;
  if (o.size < 32) throw new UserError(`--size ${o.size}: images must be at least 32 pixels`);
  if (!(o.minSide > 0 && o.minSide <= o.maxSide)) throw new UserError(`shape sizes must satisfy 0 < min (${o.minSide}) <= max (${o.maxSide})`);
  if (o.maxSide > o.size - 2) throw new UserError(`--max-side ${o.maxSide} does not fit in ${o.size}-pixel images`);
  if (!(o.minShapes >= 0 && o.minShapes <= o.maxShapes)) throw new UserError(`shape counts must satisfy 0 <= min (${o.minShapes}) <= max (${o.maxShapes})`);
  const sharp = loadSharp();
  const total = Object.values(o.splits).reduce((a, b) => a + b, 0);
  let done = 0;
  const summary: ShapesSummary = { out: o.out, splits: {} };
  makeDirs(path.join(o.out, 'annotations'));
  for (const [s, [split, n]] of Object.entries(o.splits).entries()) {
    const imgDir = path.join(o.out, split);
    makeDirs(imgDir);
    const maskDir = o.masks ? path.join(o.out, 'masks', split) : undefined;
    if (maskDir) {
      makeDirs(maskDir);
      fs.writeFileSync(path.join(o.out, 'masks', 'classes.txt'), SHAPE_MASK_CLASSES.join('\n') + '\n');
    }
    const images: unknown[] = [];
    const annotations: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const { pixels, shapes } = drawImage(o, randomFor(o.seed, s, i));
      const file = `${String(i).padStart(6, '0')}.png`;
      const png = await sharp(pixels, { raw: { width: o.size, height: o.size, channels: 3 } })
        .png({ compressionLevel: 9, adaptiveFiltering: true })
        .toBuffer();
      fs.writeFileSync(path.join(imgDir, file), png);
      if (maskDir) fs.writeFileSync(path.join(maskDir, file), encodeMaskPng({ data: shapesMask(shapes, o.size), width: o.size, height: o.size }));
      images.push({ id: i + 1, file_name: file, width: o.size, height: o.size });
      for (const sh of shapes) {
        // area: the box's, so that small/medium/large agree with evaluation on loaded boxes (no masks here).
        const bbox = sh.bbox.map(round2);
        annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: SHAPE_CLASSES.indexOf(sh.kind) + 1, bbox, area: round2(bbox[2] * bbox[3]), iscrowd: 0 });
      }
      progress?.(++done, total);
    }
    const annFile = path.join(o.out, 'annotations', `instances_${split}.json`);
    const categories = SHAPE_CLASSES.map((name, k) => ({ id: k + 1, name, supercategory: 'shape' }));
    fs.writeFileSync(annFile, JSON.stringify({ info: { description: `CV Workbench synthetic shapes (${split}, seed ${o.seed})` }, images, annotations, categories }) + '\n');
    summary.splits[split] = { images: n, boxes: annotations.length, annFile, imgDir, maskDir };
  }
  return summary;
}
