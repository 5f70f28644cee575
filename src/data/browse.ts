/**
 * `cvw data browse`: what a dataset's pipelines make of its images, as training sees them. A few
 * samples, each made by the loader's own code at an epoch (BatchMaker, the same random stream of
 * (seed, epoch, index, view), the same mixing partners), drawn in one grid: a row per sample, its
 * decoded image first, then each view back on the 0-255 scale (ToTensor and Normalize undone), the
 * boxes of a detection view drawn on it and the mask of a segmentation view blended over it. What
 * mmpretrain's browse_dataset and Ultralytics' train_batch images show.
 */
import { registries } from '../core/registry';
import { UserError } from '../core/problems';
import type { ComponentConfig } from '../core/schema';
import { encodePng } from '../report/png';
import { PALETTE } from '../export/predict/draw';
import { decodeImage } from './decode';
import type { DatasetPlan } from './datasets';
import { pathResolver, taskItem } from './loader';
import type { Box, ImageTensor } from './types';
import { BatchMaker } from './workers/batchMaker';

export interface BrowseOptions {
  split: string;
  seed: number;
  epoch: number;
  /** Samples (rows), spread evenly over the dataset unless `indices` says which. */
  count: number;
  indices?: number[];
  /** Largest side of a drawn image, in pixels. */
  cell: number;
  configDir?: string;
}

export interface BrowseRow {
  index: number;
  where: string;
  label?: string;
  /** `WxH` of each view, or why the sample could not be made. */
  views: string[];
  error?: string;
}

export interface BrowseResult {
  png: Buffer;
  width: number;
  height: number;
  rows: BrowseRow[];
  /** Views per sample. */
  views: number;
}

/** `count` indices spread evenly over `[0, length)` (deterministic: the same picture every time). */
export function spreadIndices(length: number, count: number): number[] {
  const n = Math.min(length, count);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.floor((i * length) / n));
  return out;
}

/** How a view's values go back to 0-255: the pixel scale its steps leave, and the last Normalize's statistics. */
interface Display {
  white: number;
  normalize?: { mean: number[]; std: number[]; white: number };
}

/** What ToTensor and Normalize did to a view (the other steps keep the scale they are given). */
export function displayOf(steps: ComponentConfig[]): Display {
  let white = 255;
  let normalize: Display['normalize'];
  for (const s of steps) {
    if (s.type === 'ToTensor') white = 1;
    else if (s.type === 'Normalize') {
      const { type: _, ...params } = s;
      const p = registries.pipeline.get('Normalize')!.params.parse(params) as { mean: number[]; std: number[] };
      normalize = { mean: p.mean, std: p.std, white };
    }
  }
  return { white, normalize };
}

/** An RGB picture being drawn. */
class Canvas {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3).fill(32);
  }
  set(x: number, y: number, rgb: number[], alpha = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 3;
    for (let c = 0; c < 3; c++) this.data[o + c] = Math.round(alpha * rgb[c] + (1 - alpha) * this.data[o + c]);
  }
}

const rgbOf = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** Where an image of w x h lands in a cell: enlarged by a whole factor where it fits twice or more (every pixel the same size), to the cell otherwise. */
function fit(w: number, h: number, cell: number): { scale: number; w: number; h: number } {
  const s = Math.min(cell / w, cell / h);
  const scale = s >= 2 ? Math.floor(s) : s;
  return { scale, w: Math.max(1, Math.round(w * scale)), h: Math.max(1, Math.round(h * scale)) };
}

interface Drawable {
  img: ImageTensor;
  display: Display;
  boxes?: Box[];
  mask?: Uint8Array;
  /** A mask class left uncoloured (a class named "background"). */
  background?: number;
}

/** Draw `d` into the cell at (left, top), nearest-neighbour, centred. */
function draw(canvas: Canvas, d: Drawable, left: number, top: number, cell: number): void {
  const { width: W, height: H, channels: C, data } = d.img;
  const f = fit(W, H, cell);
  const x0 = left + Math.floor((cell - f.w) / 2);
  const y0 = top + Math.floor((cell - f.h) / 2);
  const { white, normalize } = d.display;
  const level = (v: number, c: number): number => {
    const raw = normalize ? (v * normalize.std[normalize.std.length === 1 ? 0 : c] + normalize.mean[normalize.mean.length === 1 ? 0 : c]) * (255 / normalize.white) : v * (255 / white);
    return Math.max(0, Math.min(255, raw));
  };
  for (let y = 0; y < f.h; y++) {
    const sy = Math.min(H - 1, Math.floor((y + 0.5) / f.scale));
    for (let x = 0; x < f.w; x++) {
      const sx = Math.min(W - 1, Math.floor((x + 0.5) / f.scale));
      const i = (sy * W + sx) * C;
      const rgb = C >= 3 ? [level(data[i], 0), level(data[i + 1], 1), level(data[i + 2], 2)] : [0, 0, 0].fill(level(data[i], 0));
      canvas.set(x0 + x, y0 + y, rgb);
      const cls = d.mask?.[sy * W + sx];
      if (cls !== undefined && cls !== 255 && cls !== d.background) canvas.set(x0 + x, y0 + y, rgbOf(PALETTE[cls % PALETTE.length]), 0.45);
    }
  }
  for (const b of d.boxes ?? []) {
    const colour = rgbOf(PALETTE[b.label % PALETTE.length]);
    const [bx, by, bw, bh] = b.bbox.map((v) => Math.round(v * f.scale));
    for (let x = bx; x <= bx + bw; x++) for (const y of [by, by + bh]) if (x >= 0 && x < f.w && y >= 0 && y < f.h) canvas.set(x0 + x, y0 + y, colour);
    for (let y = by; y <= by + bh; y++) for (const x of [bx, bx + bw]) if (x >= 0 && x < f.w && y >= 0 && y < f.h) canvas.set(x0 + x, y0 + y, colour);
  }
}

export async function browseDataset(plan: DatasetPlan, opts: BrowseOptions): Promise<BrowseResult> {
  const source = await plan.source.open({ split: opts.split, skipCorrupt: true, skip: () => undefined, resolvePath: pathResolver(opts.configDir) });
  try {
    if (source.length === 0) throw new UserError(`the ${opts.split} dataset is empty`);
    const indices = opts.indices ?? spreadIndices(source.length, opts.count);
    const bad = indices.find((i) => !Number.isInteger(i) || i < 0 || i >= source.length);
    if (bad !== undefined) throw new UserError(`--indices: ${bad} is not an item of the ${opts.split} dataset (0 to ${source.length - 1})`);
    const withLabels = !plan.withBoxes && !plan.withMasks;
    const maker = new BatchMaker({ views: plan.views.map((v) => v.steps), shared: plan.shared?.steps, channels: source.channels, seed: opts.seed, withBoxes: plan.withBoxes, withMasks: plan.withMasks, withLabels, modules: [] });
    const mixImages = plan.views[0].pipeline.reduce((n, s) => n + (s.mixImages ?? 0), 0);
    const displays = plan.views.map((v) => displayOf([...(plan.shared?.steps ?? []), ...v.steps]));
    const background = source.classes?.findIndex((c) => c.toLowerCase() === 'background');
    const rows: BrowseRow[] = [];
    const drawn: Drawable[][] = [];
    for (const index of indices) {
      const it = await source.item(index);
      const label = it.label !== undefined ? source.classes?.[it.label] ?? String(it.label) : undefined;
      const task = await taskItem(source, index, it, { seed: opts.seed, epoch: opts.epoch, mixImages });
      const made = await maker.make(opts.epoch, [task]);
      if (made.fatal) throw new UserError(made.fatal);
      if (!made.batch) {
        rows.push({ index, where: it.where, label, views: [], error: made.failures[0]?.reason ?? 'not made' });
        drawn.push([]);
        continue;
      }
      const b = made.batch;
      const original = await decodeImage(task.image, source.channels, task.where);
      const views = b.views.map((v, k): Drawable => {
        const [, h, w, c] = v.shape;
        return { img: { data: v.data, height: h, width: w, channels: c }, display: displays[k], boxes: k === 0 ? b.boxes?.[0] : undefined, mask: k === 0 ? b.masks?.data : undefined, background };
      });
      rows.push({ index, where: it.where, label, views: views.map((v) => `${v.img.width}x${v.img.height}`) });
      drawn.push([{ img: original, display: { white: 255 }, boxes: plan.withBoxes ? it.boxes : undefined }, ...views]);
    }
    const gap = 4;
    const columns = 1 + plan.views.length;
    const canvas = new Canvas(gap + columns * (opts.cell + gap), gap + rows.length * (opts.cell + gap));
    drawn.forEach((row, r) => row.forEach((d, k) => draw(canvas, d, gap + k * (opts.cell + gap), gap + r * (opts.cell + gap), opts.cell)));
    return { png: encodePng(canvas.data, canvas.width, canvas.height, 3), width: canvas.width, height: canvas.height, rows, views: plan.views.length };
  } finally {
    source.close?.();
  }
}
