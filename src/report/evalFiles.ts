/**
 * Reading what runs have evaluated (their eval folders: EVAL_FILES): confusion matrices for the
 * report, and everything per class for the class-by-class comparison (model/classCompare.ts).
 * Like every reader of runs it never fails on a half-written or hand-edited file: what is missing
 * or malformed is left out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImagePredictions } from '../eval/clsEvaluator';
import type { SegEvalSummary } from '../eval/segEvaluator';
import { EVAL_FILES, isRunDir, runFile, writeAtomic, type EvalFile } from '../rundir';
import { compareClasses, thumbnailKey, type ClassComparison, type CocoClassSummary, type RunEvaluation } from './model/classCompare';
import { COMPARE_FILE, REPORT_DIR, reportThumbnail, type ConfusionMatrix, type ReportData } from './model/report';
import { realFileInside } from './insideDir';
import { UserError } from '../core/problems';
import { readRegularFile } from '../core/boundedRead';

/**
 * What a run's JSON files (eval, benchmarks, report, comparison) and BENCHMARKS.md are read up to:
 * a confusion matrix of 1,000 classes is about 6 MB; a file of 400 MB held 1.7 GB of the editor.
 */
const MAX_REPORT_FILE_BYTES = 64 << 20;

/** A text file, or undefined when it cannot be read (or is larger than MAX_REPORT_FILE_BYTES). */
export function readText(file: string): string | undefined {
  try {
    return readRegularFile(file, { what: 'file', maxBytes: MAX_REPORT_FILE_BYTES }).toString('utf8');
  } catch {
    return undefined;
  }
}

/** A JSON file, or undefined when it is missing or not JSON. */
export function readJson<T>(file: string): T | undefined {
  const text = readText(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** `eval/<split>_confusion_matrix.json` files of the run. */
export function readConfusionMatrices(dir: string): ConfusionMatrix[] {
  const evalDir = runFile(dir, 'eval');
  let names: string[];
  try {
    names = fs.readdirSync(evalDir).filter((f) => f.endsWith('_confusion_matrix.json')).sort();
  } catch {
    return [];
  }
  const out: ConfusionMatrix[] = [];
  for (const name of names) {
    const m = readJson<Partial<ConfusionMatrix>>(path.join(evalDir, name));
    if (!m || !Array.isArray(m.matrix) || !Array.isArray(m.classes)) continue;
    out.push({ split: m.split ?? name.replace(/_confusion_matrix\.json$/, ''), classes: m.classes, matrix: m.matrix, per_class_accuracy: m.per_class_accuracy, count: m.count });
  }
  return out;
}

/** Every `<split><suffix>` file of `kind` in the run's eval folder, parsed, with its split. */
function readEvalFiles<T>(dir: string, kind: EvalFile): Array<{ split: string; value: T }> {
  const evalDir = runFile(dir, 'eval');
  const suffix = EVAL_FILES[kind];
  let names: string[];
  try {
    names = fs.readdirSync(evalDir).filter((f) => f.endsWith(suffix) && f.length > suffix.length).sort();
  } catch {
    return [];
  }
  const out: Array<{ split: string; value: T }> = [];
  for (const name of names) {
    const value = readJson<T>(path.join(evalDir, name));
    if (value && typeof value === 'object') out.push({ split: name.slice(0, -suffix.length), value });
  }
  return out;
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

const isNumbers = (v: unknown, n?: number): v is number[] => Array.isArray(v) && (n === undefined || v.length === n) && v.every((x) => typeof x === 'number');

function validPredictions(p: Partial<ImagePredictions>): p is ImagePredictions {
  const n = Array.isArray(p.index) ? p.index.length : -1;
  return p.format === 'cvw-predictions' && Array.isArray(p.classes) && isNumbers(p.index) && isNumbers(p.label, n) && isNumbers(p.predicted, n) && isNumbers(p.score, n);
}

/**
 * What run `dir` has evaluated. `imageUri` turns a thumbnail of its report (relative to the run)
 * into what the page loads (a webview URI); without it, thumbnails are left out.
 */
export function readRunEvaluation(dir: string, imageUri?: (relative: string) => string | undefined): RunEvaluation {
  const coco = readEvalFiles<Partial<CocoClassSummary>>(dir, 'coco')
    .filter((f) => Array.isArray(f.value.per_class))
    .map((f) => ({ split: f.split, per_class: f.value.per_class! }));
  const segmentation = readEvalFiles<Partial<SegEvalSummary>>(dir, 'segmentation')
    .filter((f) => Array.isArray(f.value.per_class))
    .map((f) => ({ ...(f.value as SegEvalSummary), split: f.split }));
  const predictions = readEvalFiles<Partial<ImagePredictions>>(dir, 'predictions')
    .filter((f) => validPredictions(f.value))
    .map((f) => ({ ...(f.value as ImagePredictions), split: f.split }));
  const thumbnails: Record<string, string> = {};
  // The report has a few dozen thumbnails, the predictions thousands of images: look up its listing, not each file.
  const present = imageUri && predictions.length ? new Set(listDir(path.join(dir, path.dirname(reportThumbnail('x', 0))))) : new Set<string>();
  for (const p of present.size ? predictions : []) {
    for (const index of p.index) {
      const rel = reportThumbnail(p.split, index);
      if (!present.has(path.basename(rel))) continue;
      const uri = realFileInside(dir, rel) ? imageUri!(rel) : undefined;
      if (uri) thumbnails[thumbnailKey(p.split, index)] = uri;
    }
  }
  return { dir: path.resolve(dir), confusion: readConfusionMatrices(dir), coco, segmentation, predictions, thumbnails };
}

/** The runs compared class by class; `imageUri(dir, relative)` as in readRunEvaluation. */
export function readClassComparison(dirs: readonly string[], options: { imageUri?: (dir: string, relative: string) => string | undefined; limit?: number } = {}): ClassComparison {
  const uri = options.imageUri;
  return compareClasses(
    dirs.map((d) => readRunEvaluation(d, uri && ((rel) => uri(d, rel)))),
    { limit: options.limit },
  );
}

/** `<run>/report/compare.json`. */
const compareFile = (dir: string) => path.join(dir, REPORT_DIR, COMPARE_FILE);

/** Record the runs the report of `dir` compares it with (`cvw report --compare`); each must be a run directory. */
export function writeReportComparison(dir: string, others: readonly string[]): string {
  for (const o of others) if (!isRunDir(o)) throw new UserError(`--compare ${o}: not a run directory (no ${runFile(o, 'run')})`);
  const file = compareFile(dir);
  writeAtomic(file, [JSON.stringify({ runs: others.map((o) => path.relative(path.resolve(dir), path.resolve(o)) || '.') }, null, 1) + '\n']);
  return file;
}

/**
 * The comparison `report/compare.json` asks for: this run first, then each listed run that is a
 * run directory; thumbnails only from this run (`imageUri`, as in readReportData). Undefined
 * without the file or without another run.
 */
export function readReportComparison(dir: string, imageUri: (relative: string) => string | undefined): ReportData['comparison'] {
  const listed = readJson<{ runs?: unknown }>(compareFile(dir))?.runs;
  const others = (Array.isArray(listed) ? listed : []).filter((r): r is string => typeof r === 'string').map((r) => path.resolve(dir, r)).filter((d) => isRunDir(d));
  if (!others.length) return undefined;
  const dirs = [path.resolve(dir), ...others];
  const classes = compareClasses(dirs.map((d, i) => readRunEvaluation(d, i === 0 ? imageUri : undefined)));
  return { labels: dirs.map((d) => `${path.basename(path.dirname(d))}/${path.basename(d)}`), classes };
}
