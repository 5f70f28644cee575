/**
 * SegEvaluator: mIoU, mAcc, aAcc and per-class IoU of a segmentor over an evaluation dataset
 * (src/eval/segMetrics.ts, mmsegmentation's definitions), at the resolution of the evaluation
 * pipeline's masks. Per-class IoU values go to metrics.jsonl as `IoU.<class>` (where defined) and,
 * with per-class accuracy and areas, to <split>_seg_eval.json in the run's eval folder.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../core/registry';
import { UserError } from '../core/problems';
import { writeAtomic } from '../rundir/atomic';
import { segMetrics } from './segMetrics';
import type { EvalContext, Evaluator, Predictions } from './evaluator';

export const segEvaluatorParams = z.strictObject({
  ignore_index: z.number().int().min(0).max(255).default(255).describe('Mask value left out of the metrics (VOC borders, padding)'),
  per_class: z.boolean().default(true).describe('Report IoU.<class> of each class in the metrics too'),
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
  readonly needs = ['segmentation' as const];

  constructor(readonly params: z.output<typeof segEvaluatorParams>) {}

  evaluate(p: Predictions, ctx: EvalContext): Record<string, number> {
    const seg = p.segmentation;
    if (!seg) throw new UserError(`SegEvaluator on "${ctx.name}": needs per-pixel predictions (is the model a segmentor (EncoderDecoder) and the data a SegDataset?)`);
    const k = seg.numClasses;
    const m = segMetrics(seg.confusion, k, this.params.ignore_index);
    const names = Array.from({ length: k }, (_, c) => p.classes?.[c] ?? String(c));
    const out: Record<string, number> = { mIoU: m.mIoU, mAcc: m.mAcc, aAcc: m.aAcc };
    if (this.params.per_class) m.iou.forEach((v, c) => Number.isFinite(v) && (out[`IoU.${names[c]}`] = v));
    if (ctx.outDir) {
      const summary = segEvalSummary(seg.confusion, names, this.params.ignore_index, ctx.name, p.count);
      writeAtomic(path.join(ctx.outDir, `${ctx.name}_seg_eval.json`), [JSON.stringify(summary, null, 1) + '\n']);
    }
    return out;
  }
}

register('evaluator', {
  type: 'SegEvaluator',
  description: 'Semantic segmentation: mIoU, mAcc, aAcc and per-class IoU accumulated over the dataset (mmsegmentation)',
  paper: 'Everingham et al., The PASCAL VOC Challenge, IJCV 2010; mmsegmentation IoUMetric',
  params: segEvaluatorParams,
  build: (p) => new SegEvaluator(p),
});
