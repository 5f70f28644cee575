/**
 * Comparing runs class by class (Compare Runs' "Per class" section): what each run's evaluators
 * wrote — confusion matrices and per-class accuracy (classifiers), per-class AP (detectors),
 * per-class IoU (segmentors), each image's prediction (classifiers) — aligned by class name, with
 * every run's difference from the first (the baseline), and the images whose predicted class
 * differs between the baseline and each other run. Browser-safe: src/report/evalFiles.ts reads
 * the files, the panel renders this.
 */
import type { ImagePredictions } from '../../eval/clsEvaluator';
import type { SegEvalSummary } from '../../eval/segEvaluator';
import type { ConfusionMatrix } from './report';

/** `<split>_coco_eval.json`'s per-class part (AP -1: the class has no ground truth). */
export interface CocoClassSummary {
  split: string;
  /** pr50: precision at IoU 0.5 at recall 0, 0.01, ..., 1 (-1: no ground truth); absent in runs evaluated before it was written. */
  per_class: Array<{ name?: string; ap: number; ap50: number; pr50?: number[] }>;
}

/** Precision-recall curves per class (detectors, IoU 0.5), a line per run. */
export interface PrCurveComparison {
  /** The recall of each point: 0, 0.01, ..., 1. */
  recall: number[];
  classes: string[];
  /** precision[run][class]: the curve, or null where the run lacks it (or the class has no ground truth). */
  precision: Array<Array<number[] | null>>;
}

/** What one run has evaluated, as read from its eval folder (any part may be missing). */
export interface RunEvaluation {
  dir: string;
  confusion: ConfusionMatrix[];
  coco: CocoClassSummary[];
  segmentation: SegEvalSummary[];
  predictions: ImagePredictions[];
  /** Thumbnails `cvw report` wrote, by `<split>:<dataset index>` → an image the page can load. */
  thumbnails?: Record<string, string>;
}

/** One per-class metric of every run, on the union of their classes (null: the run lacks it). */
export interface ClassMetricTable {
  /** `accuracy` (classifiers), `AP`, `AP50` (detectors), `IoU` (segmentors). */
  metric: string;
  classes: string[];
  /** values[run][class]. */
  values: Array<Array<number | null>>;
  /** deltas[run][class] = values[run] - values[0] (run 0: all null). */
  deltas: Array<Array<number | null>>;
}

/** Confusion matrices normalised per true class (each row sums to 1), on the union of the runs' classes. */
export interface ConfusionComparison {
  classes: string[];
  /** normalized[run][true][predicted]; null for a run without the matrix, or a row with no images or a class the run lacks. */
  normalized: Array<Array<Array<number | null>> | null>;
  /** diff[run][true][predicted] = normalized[run] - normalized[0] (run 0: null). */
  diff: Array<Array<Array<number | null>> | null>;
}

/** An image the two runs classify differently. */
export interface PredictionChange {
  index: number;
  /** True class name, when known. */
  label?: string;
  predicted: [string, string];
  score: [number, number];
  /** Which of the two is right (undefined: truth unknown). */
  correct?: [boolean, boolean];
  /** An image the page can load, when a report of either run has a thumbnail of it. */
  image?: string;
}

/** The images whose top-1 class differs between the baseline (run 0) and run `run`. */
export interface PredictionDiff {
  run: number;
  /** Images both runs predicted (matched by dataset index) and how many of them differ. */
  compared: number;
  changed: number;
  /** Of the changed ones: fixed (baseline wrong, run right) and broken (the reverse). */
  fixed: number;
  broken: number;
  /** The changed images, up to the limit given, in dataset order. */
  items: PredictionChange[];
}

/** Above this many classes the matrices are left out (3 × 1000² cells would be megabytes, and no heat map shows them). */
export const MAX_CONFUSION_CLASSES = 200;

export interface SplitComparison {
  split: string;
  confusion?: ConfusionComparison;
  /** The number of classes when the matrices were left out for having more than MAX_CONFUSION_CLASSES. */
  confusionOmitted?: number;
  tables: ClassMetricTable[];
  prCurves?: PrCurveComparison;
  predictions: PredictionDiff[];
}

export interface ClassComparison {
  dirs: string[];
  splits: SplitComparison[];
}

/** Class names in order of first appearance over the runs. */
function unionClasses(lists: Array<readonly string[] | undefined>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const list of lists) {
    for (const c of list ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
    }
  }
  return out;
}

const finite = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A per-class metric of each run (a name → value map, undefined: the run lacks it) on the union of classes. */
export function alignClassMetric(metric: string, perRun: Array<Map<string, number | null> | undefined>): ClassMetricTable {
  const classes = unionClasses(perRun.map((m) => (m ? [...m.keys()] : undefined)));
  const values = perRun.map((m) => classes.map((c) => finite(m?.get(c))));
  const deltas = values.map((row, r) => row.map((v, c) => (r === 0 || v === null || values[0][c] === null ? null : v - values[0][c]!)));
  return { metric, classes, values, deltas };
}

/** Row-normalised matrix (`matrix[true][pred]` counts) on `classes`; null cells where the run lacks the class or the row is empty. */
export function normalizeConfusion(m: ConfusionMatrix, classes: string[]): Array<Array<number | null>> {
  const at = new Map(m.classes.map((c, i) => [c, i]));
  return classes.map((t) => {
    const ti = at.get(t);
    const row = ti === undefined ? undefined : m.matrix[ti];
    const total = row ? row.reduce((a, b) => a + b, 0) : 0;
    return classes.map((p) => {
      const pi = at.get(p);
      return row && total > 0 && pi !== undefined ? (row[pi] ?? 0) / total : null;
    });
  });
}

export function compareConfusion(matrices: Array<ConfusionMatrix | undefined>): ConfusionComparison {
  const classes = unionClasses(matrices.map((m) => m?.classes));
  const normalized = matrices.map((m) => (m ? normalizeConfusion(m, classes) : null));
  const base = normalized[0];
  const diff = normalized.map((n, r) => (r === 0 || !n || !base ? null : n.map((row, t) => row.map((v, p) => (v === null || base[t][p] === null ? null : v - base[t][p]!)))));
  return { classes, normalized, diff };
}

/** The images predicted differently by `a` (baseline) and `b`, matched by dataset index; at most `limit` items. */
export function diffPredictions(a: ImagePredictions, b: ImagePredictions, run: number, limit: number, thumbnail?: (index: number) => string | undefined): PredictionDiff {
  const inB = new Map<number, number>();
  b.index.forEach((idx, i) => inB.set(idx, i));
  const name = (classes: string[], c: number) => classes[c] ?? String(c);
  const out: PredictionDiff = { run, compared: 0, changed: 0, fixed: 0, broken: 0, items: [] };
  const order = a.index.map((_, i) => i).sort((x, y) => a.index[x] - a.index[y]);
  for (const i of order) {
    const j = inB.get(a.index[i]);
    if (j === undefined) continue;
    out.compared++;
    const pa = name(a.classes, a.predicted[i]);
    const pb = name(b.classes, b.predicted[j]);
    // Compared by name: two runs may order their classes differently.
    if (pa === pb) continue;
    out.changed++;
    const truth = a.label[i] >= 0 ? name(a.classes, a.label[i]) : undefined;
    const correct: [boolean, boolean] | undefined = truth === undefined ? undefined : [pa === truth, pb === truth];
    if (correct && !correct[0] && correct[1]) out.fixed++;
    if (correct && correct[0] && !correct[1]) out.broken++;
    if (out.items.length < limit) {
      out.items.push({ index: a.index[i], label: truth, predicted: [pa, pb], score: [a.score[i], b.score[j]], correct, image: thumbnail?.(a.index[i]) });
    }
  }
  return out;
}

/** The runs' PR curves on the union of their classes; undefined when no run has one. */
export function comparePrCurves(coco: Array<CocoClassSummary | undefined>): PrCurveComparison | undefined {
  const curveOf = (m: CocoClassSummary | undefined) => new Map((m?.per_class ?? []).map((c, i) => [c.name ?? String(i), c.pr50 && c.pr50.length > 1 && c.pr50.every((v) => v >= 0) ? c.pr50 : null]));
  const maps = coco.map(curveOf);
  if (!maps.some((m) => [...m.values()].some(Boolean))) return undefined;
  const classes = unionClasses(maps.map((m) => [...m.keys()]));
  // A loop, not Math.max(...): 200,000 classes overflow the call stack as arguments.
  let points = 0;
  for (const m of maps) for (const c of m.values()) points = Math.max(points, c?.length ?? 0);
  return { recall: Array.from({ length: points }, (_, i) => i / (points - 1)), classes, precision: maps.map((m) => classes.map((c) => m.get(c) ?? null)) };
}

/** The key of a thumbnail in RunEvaluation.thumbnails. */
export const thumbnailKey = (split: string, index: number) => `${split}:${index}`;

/** Every split any run evaluated, compared class by class; `limit`: changed images listed per pair (default 60). */
export function compareClasses(runs: RunEvaluation[], options: { limit?: number } = {}): ClassComparison {
  const limit = options.limit ?? 60;
  const splits = unionClasses(runs.map((r) => [...r.confusion, ...r.coco, ...r.segmentation, ...r.predictions].map((x) => x.split)));
  const out: SplitComparison[] = [];
  for (const split of splits) {
    const cm = runs.map((r) => r.confusion.find((m) => m.split === split));
    const coco = runs.map((r) => r.coco.find((m) => m.split === split));
    const seg = runs.map((r) => r.segmentation.find((m) => m.split === split));
    const preds = runs.map((r) => r.predictions.find((m) => m.split === split));
    const tables: ClassMetricTable[] = [];
    const table = (metric: string, perRun: Array<Map<string, number | null> | undefined>) => {
      if (perRun.some((m) => m?.size)) tables.push(alignClassMetric(metric, perRun));
    };
    table('accuracy', cm.map((m) => (m?.per_class_accuracy ? new Map(m.classes.map((c, i) => [c, m.per_class_accuracy![i] ?? null])) : undefined)));
    // COCO's -1: no ground truth of the class, so no AP.
    const ap = (key: 'ap' | 'ap50') => coco.map((m) => (m ? new Map(m.per_class.map((c, i) => [c.name ?? String(i), c[key] >= 0 ? c[key] : null])) : undefined));
    table('AP', ap('ap'));
    table('AP50', ap('ap50'));
    table('IoU', seg.map((m) => (m ? new Map(m.per_class.map((c) => [c.name, c.iou])) : undefined)));
    const base = preds[0];
    const thumbs = (index: number) => {
      for (const r of runs) {
        const t = r.thumbnails?.[thumbnailKey(split, index)];
        if (t) return t;
      }
      return undefined;
    };
    const predictions = base ? preds.flatMap((p, r) => (r === 0 || !p ? [] : [diffPredictions(base, p, r, limit, thumbs)])) : [];
    const cmClasses = unionClasses(cm.map((m) => m?.classes)).length;
    const confusion = cm.some(Boolean) && cmClasses <= MAX_CONFUSION_CLASSES ? compareConfusion(cm) : undefined;
    const confusionOmitted = cm.some(Boolean) && !confusion ? cmClasses : undefined;
    out.push({ split, confusion, ...(confusionOmitted ? { confusionOmitted } : {}), tables, prCurves: comparePrCurves(coco), predictions });
  }
  return { dirs: runs.map((r) => r.dir), splits: out };
}
