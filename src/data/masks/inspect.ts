/**
 * What `cvw data inspect` reports about the masks of a segmentation source: the pixels and images
 * of each class, the ignored pixels, and masks that cannot be read or hold values that are no class.
 */
import { describeItemError } from '../errors';
import type { DataSource } from '../types';
import { decodeMask } from './decode';

export interface MaskReport {
  masks: number;
  pixels: number;
  /** One row per mask value seen (classes of the source first, even when absent). */
  values: Array<{ value: number; name?: string; pixels: number; fraction: number; images: number }>;
  /** Pixels with the ignore index. */
  ignored: number;
  bad: Array<{ where: string; reason: string }>;
}

/** Mask statistics of `source`, or undefined when its items have no masks. */
export async function inspectMasks(source: DataSource, ignoreIndex = 255, progress?: (done: number, total: number) => void): Promise<MaskReport | undefined> {
  if (!source.length || !(await source.item(0)).mask) return undefined;
  const pixels = new Float64Array(256);
  const images = new Float64Array(256);
  const bad: MaskReport['bad'] = [];
  const k = source.classes?.length;
  let read = 0;
  for (let i = 0; i < source.length; i++) {
    const item = await source.item(i);
    if (!item.mask) {
      bad.push({ where: item.where, reason: 'no mask' });
      continue;
    }
    try {
      const mask = await decodeMask(item.mask, item.where, item.reduceZeroLabel);
      const seen = new Uint8Array(256);
      for (const v of mask.data) {
        pixels[v]++;
        seen[v] = 1;
      }
      seen.forEach((s, v) => (images[v] += s));
      read++;
      const stray = k === undefined ? [] : [...seen.keys()].filter((v) => seen[v] && v >= k && v !== ignoreIndex);
      if (stray.length) bad.push({ where: item.where, reason: `mask values ${stray.join(', ')} are no class (classes 0 to ${k! - 1}, ignore ${ignoreIndex})` });
    } catch (err) {
      bad.push(describeItemError(err, item.where));
    }
    if (progress && (i % 256 === 0 || i === source.length - 1)) progress(i + 1, source.length);
  }
  const counted = pixels.reduce((a, b) => a + b, 0) - pixels[ignoreIndex];
  const values: MaskReport['values'] = [];
  for (let v = 0; v < 256; v++) {
    if (v === ignoreIndex || (!pixels[v] && (k === undefined || v >= k))) continue;
    values.push({ value: v, name: source.classes?.[v], pixels: pixels[v], fraction: counted ? pixels[v] / counted : 0, images: images[v] });
  }
  return { masks: read, pixels: counted + pixels[ignoreIndex], values, ignored: pixels[ignoreIndex], bad };
}

export function formatMaskReport(r: MaskReport): string[] {
  const width = Math.max(5, ...r.values.map((v) => (v.name ?? '').length));
  const lines = [`masks: ${r.masks}, ${r.pixels} pixels, ${r.ignored} ignored (255)`, `classes: ${r.values.length} (pixels, share of the labelled pixels, images)`];
  for (const v of r.values) lines.push(`  ${String(v.value).padStart(4)}  ${(v.name ?? '?').padEnd(width)}  ${v.pixels}  ${(100 * v.fraction).toFixed(2)}%  ${v.images} images`);
  return lines;
}
