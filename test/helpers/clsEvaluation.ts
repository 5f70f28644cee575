import * as path from 'node:path';
import { ClsEvaluator, clsEvaluatorParams } from '../../src/eval/clsEvaluator';
import { RUN_FILES } from '../../src/rundir';

/**
 * Run `dir`'s eval folder as ClsEvaluator writes it for split `split` (confusion matrix, per-class
 * accuracy, per-image predictions), from logits with a 2 at each image's predicted class (so each
 * top-1 probability is e²/(e² + k - 1)).
 */
export function writeClsEvaluation(dir: string, o: { classes: string[]; labels: number[]; predicted: number[]; indices: number[]; split?: string }): void {
  const k = o.classes.length;
  const logits = new Float32Array(o.labels.length * k);
  o.predicted.forEach((c, i) => (logits[i * k + c] = 2));
  new ClsEvaluator(clsEvaluatorParams.parse({ topk: [1] })).evaluate(
    { count: o.labels.length, labels: Int32Array.from(o.labels), logits, numClasses: k, classes: o.classes, indices: Int32Array.from(o.indices) },
    { name: o.split ?? 'val', outDir: path.join(dir, RUN_FILES.eval) },
  );
}
