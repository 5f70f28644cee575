import { build } from '../../src/core/registry';
import { Random } from '../../src/core/random';
import type { PipelineStep, ViewState } from '../../src/data/pipeline';
import type { Box, ImageTensor } from '../../src/data/types';

/** An HWC float image from rows of pixels (each pixel an array of channel values). */
/** `white: null` makes a normalised image (no white level). */
export function image(rows: number[][][], white: number | null = 255): ImageTensor {
  const height = rows.length;
  const width = rows[0].length;
  const channels = rows[0][0].length;
  const data = new Float32Array(rows.flat(2));
  return { data, height, width, channels, white: white ?? undefined };
}

/** A one-channel image from rows of values. */
export function grey(rows: number[][], white: number | null = 255): ImageTensor {
  return image(rows.map((r) => r.map((v) => [v])), white);
}

export function step(type: string, params: Record<string, unknown> = {}): PipelineStep {
  return build<PipelineStep>('pipeline', { type, ...params });
}

export function apply(s: PipelineStep, img: ImageTensor, seed = 0, boxes?: Box[]): ViewState {
  const state: ViewState = { img, boxes };
  s.apply(state, new Random(seed));
  return state;
}

export function values(img: ImageTensor): number[] {
  return Array.from(img.data);
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { DataSource, SourceFactory } from '../../src/data/types';
import { pathResolver } from '../../src/data/loader';

/** Build and open a source config as the loader would; `skipped` collects what opening left out. */
export async function openSource(cfg: Record<string, unknown>, opts: { split?: string; skipCorrupt?: boolean } = {}): Promise<{ source: DataSource; skipped: Array<{ where: string; reason: string }> }> {
  const skipped: Array<{ where: string; reason: string }> = [];
  const factory = build<SourceFactory>('source', cfg);
  const source = await factory.open({ split: opts.split ?? 'train', skipCorrupt: opts.skipCorrupt ?? false, skip: (where, reason) => skipped.push({ where, reason }), resolvePath: pathResolver() });
  return { source, skipped };
}

/** Write an 8-bit RGB image (HWC bytes) as JPEG or PNG with sharp. */
export async function writeImage(file: string, rgb: Uint8Array, width: number, height: number, format: 'jpeg' | 'png' | 'webp', channels = 3): Promise<void> {
  const sharp = require('sharp') as typeof import('sharp');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const s = sharp(rgb, { raw: { width, height, channels: channels as 1 | 3 | 4 } });
  const buf = format === 'jpeg' ? await s.jpeg({ quality: 95 }).toBuffer() : format === 'png' ? await s.png().toBuffer() : await s.webp({ lossless: true }).toBuffer();
  fs.writeFileSync(file, buf);
}

/** A solid colour image's pixels. */
export function solid(width: number, height: number, rgb: number[]): Uint8Array {
  const out = new Uint8Array(width * height * rgb.length);
  for (let p = 0; p < width * height; p++) out.set(rgb, p * rgb.length);
  return out;
}

/** An idx file of unsigned bytes. */
export function writeIdx(file: string, dims: number[], data: Uint8Array, gzip: boolean): void {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 8;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const bytes = Buffer.concat([header, data]);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(bytes) : bytes);
}
