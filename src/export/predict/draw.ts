/**
 * Drawing detections on an image: the boxes and their labels as an SVG overlay composited by
 * sharp (libvips renders the SVG), written as PNG. Colours are fixed per class so the same class
 * looks the same in every picture.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadSharp, openImage } from '../../data/decode';
import type { ImageInput } from './images';
import type { Detection } from './detector';
import { makeDirs } from '../../core/makeDirs';

/** Distinct colours, cycled by class index. */
export const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990', '#dcbeff', '#9a6324', '#800000', '#aaffc3', '#808000', '#000075'];

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** The SVG overlay of `detections` for a `width` x `height` image. */
export function detectionsSvg(detections: Detection[], width: number, height: number): string {
  const stroke = Math.max(1, Math.round(Math.min(width, height) / 200));
  const font = Math.max(8, Math.round(Math.min(width, height) / 30));
  const parts = detections.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const color = PALETTE[d.label % PALETTE.length];
    const text = `${escapeXml(d.name)} ${d.score.toFixed(2)}`;
    const tw = Math.ceil(text.length * font * 0.6) + 4;
    const ty = y1 - font - 2 >= 0 ? y1 - font - 2 : y1;
    return (
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${color}" stroke-width="${stroke}"/>` +
      `<rect x="${x1.toFixed(1)}" y="${ty.toFixed(1)}" width="${tw}" height="${font + 2}" fill="${color}"/>` +
      `<text x="${(x1 + 2).toFixed(1)}" y="${(ty + font - 1).toFixed(1)}" font-family="sans-serif" font-size="${font}" fill="#fff">${text}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** The image with its detections drawn, as PNG bytes. */
export async function drawDetections(image: ImageInput, detections: Detection[]): Promise<Buffer> {
  const sharp = loadSharp();
  const base =
    typeof image === 'string' || image instanceof Uint8Array
      ? openImage(image).removeAlpha()
      : sharp(Buffer.from(Uint8Array.from(image.data, (v) => Math.max(0, Math.min(255, Math.round(v))))), { raw: { width: image.width, height: image.height, channels: (image.channels ?? 3) as 1 | 3 | 4 } });
  // Decode once to learn the size (EXIF-rotated files included), then overlay.
  const { data, info } = await base.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const svg = Buffer.from(detectionsSvg(detections, info.width, info.height));
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .composite([{ input: svg, left: 0, top: 0 }])
    .png()
    .toBuffer();
}

/** A file name in `dir` for `source`'s drawing, not yet taken by an earlier one of this run. */
export function drawingPath(dir: string, source: string, taken: Set<string>): string {
  const stem = path.basename(source).replace(/\.[^.]+$/, '') || 'image';
  let name = `${stem}.png`;
  for (let k = 1; taken.has(name); k++) name = `${stem}-${k}.png`;
  taken.add(name);
  return path.join(dir, name);
}

export async function writeDrawing(file: string, image: ImageInput, detections: Detection[]): Promise<void> {
  makeDirs(path.dirname(file));
  fs.writeFileSync(file, await drawDetections(image, detections));
}
