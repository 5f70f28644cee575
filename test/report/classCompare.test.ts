/**
 * Comparing runs class by class: two runs whose eval folders ClsEvaluator itself wrote (from
 * logits chosen so every number can be worked out by hand), with their classes in different
 * orders, plus hand-written COCO and segmentation summaries.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { imagePredictions } from '../../src/eval/clsEvaluator';
import { readClassComparison, readRunEvaluation } from '../../src/report/evalFiles';
import { compareClasses, comparePrCurves, MAX_CONFUSION_CLASSES } from '../../src/report/model/classCompare';
import { reportThumbnail } from '../../src/report/model/report';
import { evalFileName, RUN_FILES } from '../../src/rundir';
import { writeClsEvaluation } from '../helpers/clsEvaluation';
import { tempFiles } from '../helpers/tmp';

const tmp = tempFiles({});
afterAll(() => tmp.cleanup());

/** A run directory whose `val` split ClsEvaluator evaluated. */
function evaluatedRun(name: string, classes: string[], labels: number[], predicted: number[], indices: number[]): string {
  const dir = path.join(tmp.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, RUN_FILES.run), '{}');
  writeClsEvaluation(dir, { classes, labels, predicted, indices });
  return dir;
}

// Images 10..13 are cat, cat, dog, fox. A says cat, dog, dog, fox; B (classes ordered dog, cat, fox) says cat, cat, fox, fox,
// and has an image 14 (a dog it gets right) that A did not evaluate.
const runA = evaluatedRun('a', ['cat', 'dog', 'fox'], [0, 0, 1, 2], [0, 1, 1, 2], [10, 11, 12, 13]);
const runB = evaluatedRun('b', ['dog', 'cat', 'fox'], [1, 1, 0, 2, 0], [1, 1, 2, 2, 0], [10, 11, 12, 13, 14]);

describe('class comparison', () => {
  test('ClsEvaluator writes each image\'s top-1 class and probability', () => {
    const p = JSON.parse(fs.readFileSync(path.join(runA, RUN_FILES.eval, evalFileName('val', 'predictions')), 'utf8'));
    const top = Math.round((1e4 * Math.exp(2)) / (Math.exp(2) + 2)) / 1e4;
    expect(p).toEqual({ format: 'cvw-predictions', split: 'val', classes: ['cat', 'dog', 'fox'], index: [10, 11, 12, 13], label: [0, 0, 1, 2], predicted: [0, 1, 1, 2], score: [top, top, top, top] });
    // Unlabelled data: -1.
    expect(imagePredictions({ count: 1, indices: Int32Array.from([3]), logits: Float32Array.from([0, 0, 1]), numClasses: 3 }, ['a', 'b', 'c'], 'x').label).toEqual([-1]);
  });

  test('confusion matrices normalised per true class and aligned by name, with B - A', () => {
    const cmp = readClassComparison([runA, runB]);
    expect(cmp.splits.map((s) => s.split)).toEqual(['val']);
    const c = cmp.splits[0].confusion!;
    expect(c.classes).toEqual(['cat', 'dog', 'fox']);
    expect(c.normalized[0]).toEqual([[0.5, 0.5, 0], [0, 1, 0], [0, 0, 1]]);
    // B's dog row (12 called fox, 14 right) lands on A's dog row though B lists dog first.
    expect(c.normalized[1]).toEqual([[1, 0, 0], [0, 0.5, 0.5], [0, 0, 1]]);
    expect(c.diff[0]).toBeNull();
    expect(c.diff[1]).toEqual([[0.5, -0.5, 0], [0, -0.5, 0.5], [0, 0, 0]]);
  });

  test('per-class accuracy aligned by class name with deltas', () => {
    const [acc] = readClassComparison([runA, runB]).splits[0].tables;
    expect(acc.metric).toBe('accuracy');
    expect(acc.classes).toEqual(['cat', 'dog', 'fox']);
    expect(acc.values).toEqual([[0.5, 1, 1], [1, 0.5, 1]]);
    expect(acc.deltas).toEqual([[null, null, null], [0.5, -0.5, 0]]);
  });

  test('the images whose prediction differs, with both predictions, the truth and a thumbnail when a report has one', () => {
    fs.mkdirSync(path.join(runB, path.dirname(reportThumbnail('val', 11))), { recursive: true });
    fs.writeFileSync(path.join(runB, reportThumbnail('val', 11)), 'png');
    const cmp = readClassComparison([runA, runB], { imageUri: (dir, rel) => `uri:${path.basename(dir)}/${rel}` });
    const [d] = cmp.splits[0].predictions;
    expect({ run: d.run, compared: d.compared, changed: d.changed, fixed: d.fixed, broken: d.broken }).toEqual({ run: 1, compared: 4, changed: 2, fixed: 1, broken: 1 });
    expect(d.items.map((i) => [i.index, i.label, i.predicted, i.correct, i.image])).toEqual([
      [11, 'cat', ['dog', 'cat'], [false, true], 'uri:b/report/images/val-000011.png'],
      [12, 'dog', ['dog', 'fox'], [true, false], undefined],
    ]);
    // The limit caps the list, not the counts.
    const capped = readClassComparison([runA, runB], { limit: 1 }).splits[0].predictions[0];
    expect([capped.items.length, capped.changed]).toEqual([1, 2]);
    // Three runs: each later one against the first.
    expect(readClassComparison([runA, runB, runA]).splits[0].predictions.map((p) => [p.run, p.changed])).toEqual([[1, 2], [2, 0]]);
  });

  test('per-class AP and PR curves (detection) and IoU (segmentation) aligned by name; COCO -1 and malformed files left out', () => {
    const write = (dir: string, file: string, value: unknown) => fs.writeFileSync(path.join(dir, RUN_FILES.eval, file), JSON.stringify(value));
    const curve = (f: (recall: number) => number) => Array.from({ length: 101 }, (_, i) => f(i / 100));
    const halfFound = curve((r) => (r <= 0.5 ? 1 : 0));
    write(runA, evalFileName('det', 'coco'), { split: 'det', per_class: [{ name: 'car', ap: 0.5, ap50: 0.75, pr50: halfFound }, { name: 'bus', ap: -1, ap50: -1, pr50: curve(() => -1) }] });
    write(runB, evalFileName('det', 'coco'), { split: 'det', per_class: [{ name: 'bus', ap: 0.25, ap50: 0.5, pr50: curve(() => 0.5) }, { name: 'car', ap: 0.625, ap50: 1, pr50: curve(() => 1) }] });
    write(runA, evalFileName('seg', 'segmentation'), { split: 'seg', per_class: [{ name: 'road', iou: 0.75 }, { name: 'sky', iou: null }] });
    write(runB, evalFileName('seg', 'segmentation'), { split: 'seg', per_class: [{ name: 'road', iou: 0.875 }, { name: 'sky', iou: 0.5 }] });
    write(runB, evalFileName('bad', 'predictions'), { format: 'cvw-predictions', split: 'bad', classes: [], index: [1, 2], label: [0], predicted: [0, 0], score: [1, 1] });
    const cmp = readClassComparison([runA, runB]);
    expect(cmp.splits.map((s) => s.split)).toEqual(['val', 'det', 'seg']);
    const det = cmp.splits[1];
    expect(det.tables.map((t) => [t.metric, t.classes, t.values, t.deltas])).toEqual([
      ['AP', ['car', 'bus'], [[0.5, null], [0.625, 0.25]], [[null, null], [0.125, null]]],
      ['AP50', ['car', 'bus'], [[0.75, null], [1, 0.5]], [[null, null], [0.25, null]]],
    ]);
    expect(det.confusion).toBeUndefined();
    // PR curves per class, a line per run; A's bus has no ground truth, so no curve.
    const pr = det.prCurves!;
    expect([pr.recall.length, pr.recall[50], pr.recall[100], pr.classes]).toEqual([101, 0.5, 1, ['car', 'bus']]);
    expect(pr.precision).toEqual([[halfFound, null], [curve(() => 1), curve(() => 0.5)]]);
    expect(cmp.splits[0].prCurves).toBeUndefined();
    expect(cmp.splits[2].tables).toEqual([{ metric: 'IoU', classes: ['road', 'sky'], values: [[0.75, null], [0.875, 0.5]], deltas: [[null, null], [0.125, null]] }]);
    expect(readRunEvaluation(runB).predictions.map((p) => p.split)).toEqual(['val']);
  });

  test('more classes than MAX_CONFUSION_CLASSES: the per-class table, no matrices', () => {
    const k = MAX_CONFUSION_CLASSES + 1;
    const classes = Array.from({ length: k }, (_, i) => `c${i}`);
    const matrix = classes.map((_c, t) => classes.map((_p, p) => (t === p ? 1 : 0)));
    const run = (dir: string) => ({ dir, confusion: [{ split: 'val', classes, matrix, per_class_accuracy: classes.map(() => 1) }], coco: [], segmentation: [], predictions: [] });
    const [val] = compareClasses([run('a'), run('b')]).splits;
    expect([val.confusion, val.confusionOmitted, val.tables[0].classes.length]).toEqual([undefined, k, k]);
    expect(compareClasses([run('a')]).splits[0].confusionOmitted).toBe(k);
  });

  test('a run with nothing evaluated compares as missing, not as zeros', () => {
    const empty = path.join(tmp.dir, 'empty');
    fs.mkdirSync(empty);
    const cmp = compareClasses([readRunEvaluation(runA), readRunEvaluation(empty)]);
    const val = cmp.splits.find((s) => s.split === 'val')!;
    expect(val.confusion!.normalized[1]).toBeNull();
    expect(val.tables[0].values[1]).toEqual([null, null, null]);
    expect(val.predictions).toEqual([]);
  });

  test('PR curves of 200,000 classes (an eval file of a run) are compared, not a stack overflow', () => {
    // Math.max(...) of every curve's length overflowed the call stack as arguments.
    const per_class = Array.from({ length: 200_000 }, (_, i) => ({ name: `c${i}`, ap: 1, ap50: 1, pr50: [1, 0.5, 0] }));
    const pr = comparePrCurves([{ split: 'val', per_class }])!;
    expect(pr.recall).toEqual([0, 0.5, 1]);
    expect(pr.classes).toHaveLength(200_000);
    expect(pr.precision[0][199_999]).toEqual([1, 0.5, 0]);
  });
});
