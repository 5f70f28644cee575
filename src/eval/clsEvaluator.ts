/**
 * Classification metrics: top-k accuracy, per-class accuracy and the confusion matrix (saved as
 * JSON beside the run for the report and the editor's panels), and each image's prediction (so
 * that two runs' predictions can be compared image by image).
 */
import * as path from 'node:path';
import { z } from 'zod';
import { register } from '../core/registry';
import { UserError } from '../core/problems';
import { writeAtomic } from '../rundir/atomic';
import { evalFileName } from '../rundir/files';
import type { EvalContext, Evaluator, Predictions } from './evaluator';

export const clsEvaluatorParams = z.strictObject({
  topk: z.array(z.number().int().min(1)).min(1).default([1, 5]).describe('Accuracies to report: top-1, top-5, ... (k larger than the number of classes is skipped)'),
  save_confusion_matrix: z.boolean().default(true).describe('Write <split>_confusion_matrix.json into the run\'s eval folder'),
  save_predictions: z.boolean().default(true).describe("Write <split>_predictions.json (each image's predicted class and score) into the run's eval folder, for comparing runs image by image"),
});

export interface ClassificationMetrics {
  topk: Record<number, number>;
  perClass: number[];
  confusion: number[][];
}

/** Top-k accuracies, per-class accuracy and confusion matrix (rows: true class, columns: predicted). */
export function classificationMetrics(logits: Float32Array, labels: Int32Array, numClasses: number, topk: number[]): ClassificationMetrics {
  const n = labels.length;
  const hits: Record<number, number> = Object.fromEntries(topk.map((k) => [k, 0]));
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const order = new Array<number>(numClasses);
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * numClasses, (i + 1) * numClasses);
    for (let c = 0; c < numClasses; c++) order[c] = c;
    order.sort((a, b) => row[b] - row[a] || a - b);
    const label = labels[i];
    if (label < 0 || label >= numClasses) throw new UserError(`evaluation: label ${label} of sample ${i} is outside 0..${numClasses - 1}`);
    confusion[label][order[0]]++;
    const rank = order.indexOf(label);
    for (const k of topk) if (rank < k) hits[k]++;
  }
  const perClass = confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total ? row[c] / total : NaN;
  });
  return { topk: Object.fromEntries(topk.map((k) => [k, n ? hits[k] / n : NaN])), perClass, confusion };
}

/**
 * `<split>_predictions.json`: one entry per evaluated image in columns (a 10,000-image set is
 * ~150 kB): its dataset index, true class (-1 unknown), top-1 class and that class's softmax
 * probability (4 digits).
 */
export interface ImagePredictions {
  format: 'cvw-predictions';
  split: string;
  classes: string[];
  index: number[];
  label: number[];
  predicted: number[];
  score: number[];
}

/** The top-1 class and its softmax probability of each row of `logits` (`count x numClasses`). */
export function imagePredictions(p: Pick<Predictions, 'count' | 'indices' | 'labels'> & { logits: Float32Array; numClasses: number }, classes: string[], split: string): ImagePredictions {
  const out: ImagePredictions = { format: 'cvw-predictions', split, classes, index: Array.from(p.indices), label: [], predicted: [], score: [] };
  const k = p.numClasses;
  for (let i = 0; i < p.count; i++) {
    const row = p.logits.subarray(i * k, (i + 1) * k);
    let best = 0;
    for (let c = 1; c < k; c++) if (row[c] > row[best]) best = c;
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(row[c] - row[best]);
    out.label.push(p.labels ? p.labels[i] : -1);
    out.predicted.push(best);
    out.score.push(Math.round(1e4 / sum) / 1e4);
  }
  return out;
}

export class ClsEvaluator implements Evaluator {
  readonly name = 'ClsEvaluator';
  readonly needs = ['logits' as const];

  constructor(readonly params: z.output<typeof clsEvaluatorParams>) {}

  evaluate(p: Predictions, ctx: EvalContext): Record<string, number> {
    if (!p.logits || !p.labels || !p.numClasses) throw new UserError(`ClsEvaluator on "${ctx.name}": needs class scores and labels (is the model a classifier and the data labelled?)`);
    const ks = this.params.topk.filter((k) => k <= p.numClasses!);
    const m = classificationMetrics(p.logits, p.labels, p.numClasses, ks);
    const out: Record<string, number> = {};
    for (const k of ks) out[`accuracy_top${k}`] = m.topk[k];
    const present = m.perClass.filter((v) => !Number.isNaN(v));
    out.mean_class_accuracy = present.reduce((a, b) => a + b, 0) / Math.max(1, present.length);
    const classes = p.classes ?? Array.from({ length: p.numClasses }, (_, i) => String(i));
    if (ctx.outDir && this.params.save_confusion_matrix) {
      writeAtomic(path.join(ctx.outDir, `${ctx.name}_confusion_matrix.json`), [
        JSON.stringify({ split: ctx.name, classes, matrix: m.confusion, per_class_accuracy: m.perClass, count: p.count }, null, 1) + '\n',
      ]);
    }
    if (ctx.outDir && this.params.save_predictions) {
      const preds = imagePredictions({ count: p.count, indices: p.indices, labels: p.labels, logits: p.logits, numClasses: p.numClasses }, classes, ctx.name);
      writeAtomic(path.join(ctx.outDir, evalFileName(ctx.name, 'predictions')), [JSON.stringify(preds) + '\n']);
    }
    return out;
  }
}

register('evaluator', {
  type: 'ClsEvaluator',
  description: 'Top-k accuracy, per-class accuracy and the confusion matrix of a classifier',
  paper: 'EasyCV ClsEvaluator',
  params: clsEvaluatorParams,
  build: (p) => new ClsEvaluator(p),
});
