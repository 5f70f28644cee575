/**
 * `cvw predict` with a segmentor: pixel shares per class per image; `--draw <dir>` writes each
 * mask as an indexed PNG (`<name>.png`, VOC colours) and the image with the mask's colours blended
 * over it (`<name>-overlay.png`, the same colours).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Segmenter, type SegmentationResult, type Settled } from '../../export/predict';
import { drawingPath } from '../../export/predict/draw';
import { encodeMaskPng, vocPalette } from '../../data/masks/png';
import { blendMask } from '../../data/masks/overlay';
import { loadImage } from '../../export/predict/images';
import { encodePng } from '../../report/png';
import { makeDirs } from '../../core/makeDirs';

/** Pixels of each class in a result, and their share of the image. */
function shares(r: SegmentationResult): Array<{ name: string; pixels: number; share: number }> {
  const counts = new Array<number>(r.classes.length).fill(0);
  for (const v of r.mask) if (v < counts.length) counts[v]++;
  return r.classes.map((name, k) => ({ name, pixels: counts[k], share: counts[k] / r.mask.length }));
}

export async function predictSegmentation(model: string, images: string[], options: { batchSize?: number; threads?: number; resize: boolean }, opts: { skipBad: boolean; json: boolean; drawDir?: string }): Promise<number> {
  const predictor = new Segmenter(model, options);
  try {
    const settled: Array<Settled<SegmentationResult>> = opts.skipBad ? await predictor.predictSettled(images) : (await predictor.predict(images)).map((result, i) => ({ source: images[i], result }));
    if (opts.drawDir !== undefined) {
      const taken = new Set<string>();
      const palette = vocPalette();
      makeDirs(opts.drawDir);
      for (const s of settled) {
        if (s.error !== undefined) continue;
        const file = drawingPath(opts.drawDir, s.source, taken);
        const mask = { data: s.result!.mask, width: s.result!.width, height: s.result!.height };
        fs.writeFileSync(file, encodeMaskPng(mask, palette));
        const overlay = file.replace(/\.png$/, '-overlay.png');
        taken.add(path.basename(overlay));
        fs.writeFileSync(overlay, encodePng(blendMask(await loadImage(s.source, 3, s.source), mask, palette).data, mask.width, mask.height, 3));
        if (!opts.json) process.stderr.write(`mask ${path.relative(process.cwd(), file) || file}, overlay ${path.basename(overlay)}\n`);
      }
    }
    for (const s of settled) if (s.error !== undefined) process.stderr.write(`skipped ${s.error}\n`);
    const ok = settled.filter((s) => s.error === undefined);
    if (opts.json) {
      const rows = settled.map((s) => (s.error !== undefined ? { source: s.source, error: s.error } : { source: s.source, width: s.result!.width, height: s.result!.height, classes: shares(s.result!) }));
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    } else {
      const width = Math.min(60, ok.reduce((w, s) => Math.max(w, s.source.length), 6));
      for (const s of ok) {
        const text = shares(s.result!)
          .filter((c) => c.pixels > 0)
          .map((c) => `${c.name} ${(100 * c.share).toFixed(1)}%`)
          .join('  ');
        process.stdout.write(`${s.source.padEnd(width)}  ${text}\n`);
      }
    }
    const bad = settled.length - ok.length;
    if (bad) process.stderr.write(`${bad} of ${settled.length} image(s) skipped\n`);
    return 0;
  } finally {
    await predictor.dispose();
  }
}
