/**
 * SegEvaluator: mIoU, mAcc, aAcc and per-class IoU of a segmentor over an evaluation dataset
 * (src/eval/segMetrics.ts, mmsegmentation's definitions). By default (`resolution: source`) at each
 * image's own resolution, as mmsegmentation's IoUMetric: the logits at the evaluation pipeline's
 * size are resized back to the source image (bilinear, align_corners=False, through the view's
 * frame: src/eval/segSource.ts) and compared with the mask as decoded; source pixels a crop cut
 * off have no prediction and are left out (counted as `uncovered_pixels`). `resolution: pipeline`
 * compares at the evaluation pipeline's mask size instead (the mask resized nearest-neighbour with
 * the image): cheaper, but a resizing pipeline then weighs images by their resized area and blurs
 * thin structures, so the numbers differ from mmsegmentation's and from `cvw report`'s.
 * Per-class IoU values go to metrics.jsonl as `IoU.<class>` (where defined) and, with per-class
 * accuracy and areas, to <split>_seg_eval.json in the run's eval folder.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../core/registry';
import { UserError } from '../core/problems';
import { writeAtomic } from '../rundir/atomic';
import { segMetrics } from './segMetrics';
import type { EvalContext, Evaluator, PredictionNeed, Predictions } from './evaluator';

export const segEvaluatorParams = z.strictObject({
  ignore_index: z.number().int().min(0).max(255).default(255).describe('Mask value left out of the metrics (VOC borders, padding)'),
  per_class: z.boolean().default(true).describe('Report IoU.<class> of each class in the metrics too'),
  resolution: z
    .enum(['source', 'pipeline'])
    .default('source')
    .describe(
      "Where pixels are scored: source (mmsegmentation's IoUMetric) resizes the logits back to each image's own size (bilinear) and compares with the mask as decoded, pixels a crop cut off left out; pipeline compares at the evaluation pipeline's mask size",
    ),
});

const round5 = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e5) / 1e5 : null);

/** One class of `<split>_seg_eval.json` and of the run report's table (null: undefined, 0/0). */
export interface SegClassRow {
  name: string;
  iou: number | null;
  acc: number | null;
  /** Pixels labelled with the class, their share of all labelled pixels, pixels predicted as it. */
  pixels: number;
  frequency: number | null;
  predicted: number;
}

/** What SegEvaluator writes to `<split>_seg_eval.json` (metrics rounded to 5 digits). */
export interface SegEvalSummary {
  split: string;
  images: number;
  ignore_index: number;
  /** Where pixels were scored (SegEvaluator's `resolution`); absent in files written before it existed and in `cvw report`'s (source). */
  resolution?: 'source' | 'pipeline';
  /** Source pixels left out because the evaluation pipeline's view did not cover them (resolution: source). */
  uncovered_pixels?: number;
  mIoU: number | null;
  mAcc: number | null;
  aAcc: number | null;
  per_class: SegClassRow[];
}

/** The summary of a `MASK_VALUES x names.length` confusion table (src/eval/segMetrics.ts). */
export function segEvalSummary(confusion: Float64Array, names: string[], ignoreIndex: number, split: string, images: number): SegEvalSummary {
  const m = segMetrics(confusion, names.length, ignoreIndex);
  const total = m.areaLabel.reduce((a, b) => a + b, 0);
  const per_class = names.map((name, c) => ({ name, iou: round5(m.iou[c]), acc: round5(m.acc[c]), pixels: m.areaLabel[c], frequency: round5(m.areaLabel[c] / total), predicted: m.areaPred[c] }));
  return { split, images, ignore_index: ignoreIndex, mIoU: round5(m.mIoU), mAcc: round5(m.mAcc), aAcc: round5(m.aAcc), per_class };
}

export class SegEvaluator implements Evaluator {
  readonly name = 'SegEvaluator';
  readonly needs: PredictionNeed[];

  constructor(readonly params: z.output<typeof segEvaluatorParams>) {
    this.needs = [params.resolution === 'source' ? 'sourceSegmentation' : 'segmentation'];
  }

  evaluate(p: Predictions, ctx: EvalContext): Record<string, number> {
    const source = this.params.resolution === 'source';
    const seg = source ? p.sourceSegmentation : p.segmentation;
    if (!seg) throw new UserError(`SegEvaluator on "${ctx.name}": needs per-pixel predictions (is the model a segmentor (EncoderDecoder) and the data a SegDataset?)`);
    const k = seg.numClasses;
    const m = segMetrics(seg.confusion, k, this.params.ignore_index);
    const names = Array.from({ length: k }, (_, c) => p.classes?.[c] ?? String(c));
    const out: Record<string, number> = { mIoU: m.mIoU, mAcc: m.mAcc, aAcc: m.aAcc };
    if (this.params.per_class) m.iou.forEach((v, c) => Number.isFinite(v) && (out[`IoU.${names[c]}`] = v));
    if (ctx.outDir) {
      const summary: SegEvalSummary = { ...segEvalSummary(seg.confusion, names, this.params.ignore_index, ctx.name, p.count), resolution: this.params.resolution };
      if (p.sourceSegmentation && source) summary.uncovered_pixels = p.sourceSegmentation.uncovered;
      writeAtomic(path.join(ctx.outDir, `${ctx.name}_seg_eval.json`), [JSON.stringify(summary, null, 1) + '\n']);
    }
    return out;
  }
}

register('evaluator', {
  type: 'SegEvaluator',
  description: "Semantic segmentation: mIoU, mAcc, aAcc and per-class IoU accumulated over the dataset, at each image's own resolution by default (mmsegmentation IoUMetric)",
  paper: 'Everingham et al., The PASCAL VOC Challenge, IJCV 2010; mmsegmentation IoUMetric',
  params: segEvaluatorParams,
  build: (p) => new SegEvaluator(p),
});
