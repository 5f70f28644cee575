/**
 * CocoEvaluator: COCO box mAP of a detector on an evaluation dataset (src/eval/cocoEval.ts has the
 * protocol). Detections and ground truth are compared in the source images' pixels. It writes,
 * into the run's eval folder, the detections in the COCO results format (what
 * `cvw benchmark coco --dt` reads), the matching ground truth, and a summary with per-class AP
 * and precision-recall curve at IoU 0.5 (`pr50`: precision at recall 0, 0.01, ..., 1), and a few
 * images' detections for the run report's gallery.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../core/registry';
import { UserError } from '../core/problems';
import { writeAtomic } from '../rundir/atomic';
import { cocoEvaluate, SUMMARY_NAMES, type CocoDetection, type CocoGt } from './cocoEval';
import type { DetectionSample, EvalContext, Evaluator, Predictions } from './evaluator';
import type { Box } from '../data/types';

export const cocoEvaluatorParams = z.strictObject({
  save_detections: z.boolean().default(true).describe("Write <split>_detections.json (COCO results) and <split>_gt.json into the run's eval folder"),
  gallery: z.number().int().min(0).default(16).describe('Images whose detections go into <split>_detections_gallery.json for the run report'),
  gallery_score: z.number().min(0).max(1).default(0.3).describe('Lowest score of a detection shown in the gallery'),
});

/**
 * Ground truth and detections of evaluated samples in COCO form: class k becomes category
 * `categoryIds[k]` (the source's own ids, so the detections file fits its instances file), or
 * k + 1; samples without an image id get 1, 2, ...
 */
export function toCoco(samples: DetectionSample[], classes: string[], categoryIds?: number[]): { gt: CocoGt; dets: CocoDetection[] } {
  const cat = (label: number) => categoryIds?.[label] ?? label + 1;
  const images: CocoGt['images'] = [];
  const annotations: CocoGt['annotations'] = [];
  const dets: CocoDetection[] = [];
  const seen = new Set<number>();
  samples.forEach((s, i) => {
    const id = s.imageId >= 0 ? s.imageId : i + 1;
    if (seen.has(id)) throw new UserError(`detection evaluation: image id ${id} appears twice in the evaluation data`);
    seen.add(id);
    images.push({ id, width: s.width, height: s.height } as CocoGt['images'][number]);
    // The annotation's own area where the source gave one (COCO's is the mask's), as pycocotools buckets by it.
    const annotate = (b: Box, iscrowd: number) => annotations.push({ id: annotations.length + 1, image_id: id, category_id: cat(b.label), bbox: b.bbox, area: b.area ?? b.bbox[2] * b.bbox[3], iscrowd });
    for (const b of s.gt) annotate(b, 0);
    for (const b of s.crowd ?? []) annotate(b, 1);
    const d = s.detections;
    for (let k = 0; k < d.scores.length; k++) {
      const [x1, y1, x2, y2] = d.boxes.subarray(4 * k, 4 * k + 4);
      dets.push({ image_id: id, category_id: cat(d.labels[k]), bbox: [x1, y1, x2 - x1, y2 - y1].map(round3), score: round5(d.scores[k]) });
    }
  });
  return { gt: { images, annotations, categories: classes.map((name, k) => ({ id: cat(k), name })) }, dets };
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;
const round5 = (v: number) => Math.round(v * 1e5) / 1e5;

export class CocoEvaluator implements Evaluator {
  readonly name = 'CocoEvaluator';
  readonly needs = ['detections' as const];

  constructor(readonly params: z.output<typeof cocoEvaluatorParams>) {}

  evaluate(p: Predictions, ctx: EvalContext): Record<string, number> {
    if (!p.detections) throw new UserError(`CocoEvaluator on "${ctx.name}": needs detections (is the model a detector and the data a DetDataset?)`);
    // A loop, not Math.max(...labels): COCO val's 5,000 images x 100 detections overflow the call stack as arguments.
    let numClasses = p.classes?.length ?? 0;
    for (const s of p.detections) {
      for (const l of s.detections.labels) numClasses = Math.max(numClasses, l + 1);
      for (const b of s.gt) numClasses = Math.max(numClasses, b.label + 1);
    }
    const classes = p.classes ?? Array.from({ length: numClasses }, (_, i) => String(i));
    const { gt, dets } = toCoco(p.detections, classes, p.categoryIds);
    const result = cocoEvaluate(gt, dets);
    const out: Record<string, number> = {};
    SUMMARY_NAMES.forEach((n, i) => (out[n] = result.stats[i]));
    if (ctx.outDir) {
      if (this.params.save_detections) {
        writeAtomic(path.join(ctx.outDir, `${ctx.name}_detections.json`), [JSON.stringify(dets) + '\n']);
        writeAtomic(path.join(ctx.outDir, `${ctx.name}_gt.json`), [JSON.stringify(gt) + '\n']);
      }
      const summary = { split: ctx.name, images: result.images, detections: result.detections, stats: Object.fromEntries(SUMMARY_NAMES.map((n, i) => [n, result.stats[i]])), per_class: result.perCategory.map((c, k) => ({ name: c.name, ap: c.ap, ap50: c.ap50, pr50: result.prCurves50[k].map(round3) })) };
      writeAtomic(path.join(ctx.outDir, `${ctx.name}_coco_eval.json`), [JSON.stringify(summary, null, 1) + '\n']);
      if (this.params.gallery > 0) writeAtomic(path.join(ctx.outDir, `${ctx.name}_detections_gallery.json`), [JSON.stringify(gallery(p, classes, this.params.gallery, this.params.gallery_score), null, 1) + '\n']);
    }
    return out;
  }
}

/**
 * The first images' detections above a score and their ground truth, with the dataset index of
 * each image so the report can find its file: `{split, classes, images: [{index, image_id,
 * width, height, detections: [{bbox, score, label, name}], gt: [{bbox, label, name}]}]}`, boxes
 * as COCO [x, y, w, h] in source pixels.
 */
export function gallery(p: Predictions, classes: string[], count: number, minScore: number) {
  const samples = p.detections ?? [];
  return {
    format: 'cvw-detections-gallery',
    classes,
    images: samples.slice(0, count).map((s, i) => {
      const d = s.detections;
      const dets = [];
      for (let k = 0; k < d.scores.length; k++) {
        if (d.scores[k] < minScore) continue;
        const [x1, y1, x2, y2] = d.boxes.subarray(4 * k, 4 * k + 4);
        dets.push({ bbox: [x1, y1, x2 - x1, y2 - y1].map(round3), score: round5(d.scores[k]), label: d.labels[k], name: classes[d.labels[k]] ?? String(d.labels[k]) });
      }
      return {
        index: p.indices[i],
        image_id: s.imageId,
        width: s.width,
        height: s.height,
        detections: dets,
        gt: s.gt.map((b) => ({ bbox: b.bbox.map(round3), label: b.label, name: classes[b.label] ?? String(b.label) })),
      };
    }),
  };
}

register('evaluator', {
  type: 'CocoEvaluator',
  description: 'COCO box mAP@[.5:.95], AP50, AP75, AP small/medium/large and AR@1/10/100 of a detector (the pycocotools protocol)',
  paper: 'Lin et al., Microsoft COCO: Common Objects in Context, ECCV 2014, arXiv:1405.0312 (cocodataset.org/#detection-eval)',
  params: cocoEvaluatorParams,
  build: (p) => new CocoEvaluator(p),
});
