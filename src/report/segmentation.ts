/**
 * The segmentation part of `cvw report`: the run's weights predict a mask for each image the report
 * read (the Segmenter of `cvw predict`, so the pictures show what it would say); the gallery
 * images get their truth and their prediction blended over them in the class colours, and the
 * predictions against the truth give SegEvaluator's summary (mIoU, per-class IoU, accuracy, pixel
 * frequency), computed by the same code (segEvalSummary) as at evaluation time.
 */
import { decodeMask, readMask } from '../data/masks/decode';
import { blendMask } from '../data/masks/overlay';
import { vocPalette } from '../data/masks/png';
import type { DataSource, ImageRef } from '../data/types';
import { UserError } from '../core/problems';
import { accumulateConfusion, MASK_VALUES } from '../eval/segMetrics';
import { segEvalSummary } from '../eval/segEvaluator';
import { Segmenter, type PixelImage } from '../export/predict';
import type { SegmentationOverlay, SegmentationReport } from './model/report';

export interface SegmentationSample {
  index: number;
  pixels: PixelImage;
}

export interface SegmentationReportInput {
  runDir: string;
  config: Record<string, unknown>;
  source: DataSource;
  split: string;
  samples: SegmentationSample[];
  /** Rows of `samples` drawn as overlays. */
  galleryRows: number[];
  classes?: string[];
  /** Writes an image under the report's images (name, pixels) and returns its path relative to the run. */
  write: (name: string, pixels: PixelImage) => Promise<string>;
  /** The path of sample `row`'s own thumbnail (shared with the other parts of the report). */
  thumbnail: (row: number) => Promise<string>;
  log?: (message: string) => void;
}

/** The ignore index of the config's first SegEvaluator (what training reported), else 255. */
export function configIgnoreIndex(config: Record<string, unknown>): number {
  const pipelines = Array.isArray(config.eval_pipelines) ? (config.eval_pipelines as Array<{ evaluators?: unknown }>) : [];
  for (const p of pipelines) {
    for (const e of Array.isArray(p.evaluators) ? (p.evaluators as Array<Record<string, unknown>>) : []) {
      if (e?.type === 'SegEvaluator') return typeof e.ignore_index === 'number' ? e.ignore_index : 255;
    }
  }
  return 255;
}

/** The palette of an indexed mask PNG (the data's own class colours), else undefined. */
function maskPalette(ref: ImageRef | undefined): Uint8Array | undefined {
  try {
    const palette = ref && readMask(ref, '').palette;
    if (!palette) return undefined;
    const full = vocPalette();
    full.set(palette.subarray(0, full.length));
    return full;
  } catch {
    return undefined;
  }
}

const stem = (split: string, index: number) => `${split}-${String(index).padStart(6, '0')}`;

export async function segmentationReport(input: SegmentationReportInput): Promise<SegmentationReport> {
  const { source, samples, split } = input;
  const segmenter = new Segmenter(input.runDir);
  try {
    const results = await segmenter.predict(samples.map((s) => s.pixels));
    const k = results[0]?.classes.length ?? 0;
    const names = Array.from({ length: k }, (_, c) => input.classes?.[c] ?? results[0].classes[c]);
    const first = samples.length ? await source.item(samples[0].index) : undefined;
    const palette = maskPalette(first?.mask) ?? vocPalette();
    const confusion = new Float64Array(MASK_VALUES * k);
    const gallery = new Set(input.galleryRows);
    const overlays: SegmentationOverlay[] = [];
    let judged = 0;
    let uncovered = 0;
    for (const [row, s] of samples.entries()) {
      const item = await source.item(s.index);
      const pred = results[row];
      const truth = item.mask ? await decodeMask(item.mask, item.where, item.reduceZeroLabel) : undefined;
      if (truth) {
        if (truth.width !== pred.width || truth.height !== pred.height) throw new UserError(`${item.where}: the mask is ${truth.width}x${truth.height} but the image ${pred.width}x${pred.height}`);
        // Pixels the network input did not cover (255) have no prediction: left out of the table.
        const keep = pred.mask.reduce((n, v) => n + (v < k ? 1 : 0), 0);
        if (keep === pred.mask.length) accumulateConfusion(confusion, k, truth.data, pred.mask);
        else {
          const t = new Uint8Array(keep);
          const p = new Uint8Array(keep);
          let j = 0;
          for (let i = 0; i < pred.mask.length; i++) {
            if (pred.mask[i] >= k) continue;
            t[j] = truth.data[i];
            p[j++] = pred.mask[i];
          }
          accumulateConfusion(confusion, k, t, p);
          uncovered += pred.mask.length - keep;
        }
        judged++;
      }
      if (!gallery.has(row)) continue;
      const mask = { data: pred.mask, width: pred.width, height: pred.height };
      overlays.push({
        index: s.index,
        image: await input.thumbnail(row),
        truth: truth ? await input.write(`${stem(split, s.index)}-truth.png`, blendMask(s.pixels, truth, palette)) : undefined,
        prediction: await input.write(`${stem(split, s.index)}-pred.png`, blendMask(s.pixels, mask, palette)),
      });
    }
    const colors = names.map((_, c) => [palette[3 * c], palette[3 * c + 1], palette[3 * c + 2]] as [number, number, number]);
    const report: SegmentationReport = { overlays, colors };
    if (judged) {
      report.metrics = segEvalSummary(confusion, names, configIgnoreIndex(input.config), split, judged);
      input.log?.(`segmentation: ${overlays.length} overlays; mIoU ${report.metrics.mIoU} on ${judged} images${uncovered ? ` (${uncovered} pixels outside the network input left out)` : ''}`);
    }
    return report;
  } finally {
    await segmenter.dispose();
  }
}
