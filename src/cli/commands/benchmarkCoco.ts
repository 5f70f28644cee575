/**
 * `cvw benchmark coco --gt instances.json --dt detections.json`: COCO box mAP of detections from
 * any source (this toolkit's CocoEvaluator output, a PyTorch model, ...), printed as pycocotools'
 * 12-line summary (src/eval/cocoEval.ts).
 */
import { UserError } from '../../core/problems';
import { cocoEvaluate, formatSummary, SUMMARY_NAMES, type CocoDetection, type CocoGt } from '../../eval/cocoEval';
import type { CommandSpec } from '../args';
import { readRegularFile } from '../../core/boundedRead';
import { describeValue } from '../../core/format';
import { isPlainObject } from '../../core/schema';
import { isId } from '../../data/sources/coco';

function readJson(file: string, what: string): unknown {
  const text = readRegularFile(file, { what }).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
}

const isBox = (b: unknown): b is number[] => Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === 'number' && Number.isFinite(v));

/** Each entry of `list` a mapping whose `id` is an integer seen once: the first problem, or undefined. */
function idListProblem(list: unknown[], key: string, shape: string): string | undefined {
  const seen = new Set<number>();
  for (const [i, e] of list.entries()) {
    if (!isPlainObject(e)) return `${key}[${i}]: expected a mapping ${shape}, got ${describeValue(e)}`;
    if (!isId(e.id)) return `${key}[${i}].id: expected an integer, got ${describeValue(e.id)}`;
    if (seen.has(e.id)) return `${key}[${i}].id: ${e.id} appears twice`;
    seen.add(e.id);
  }
  return undefined;
}

/** What is wrong with one ground-truth annotation (its field, then the problem), or undefined. */
function annotationProblem(a: unknown, images: Set<number>, categories: Set<number>): string | undefined {
  if (!isPlainObject(a)) return `expected a mapping {id, image_id, category_id, bbox}, got ${describeValue(a)}`;
  if (!isId(a.id)) return `.id: expected an integer, got ${describeValue(a.id)}`;
  if (!isId(a.image_id) || !images.has(a.image_id)) return `.image_id: expected the id of an image in "images", got ${describeValue(a.image_id)}`;
  if (!isId(a.category_id) || !categories.has(a.category_id)) return `.category_id: expected the id of a category in "categories", got ${describeValue(a.category_id)}`;
  if (!isBox(a.bbox) || a.bbox[2] < 0 || a.bbox[3] < 0) return `.bbox: expected [x, y, width, height] with width and height >= 0, got ${Array.isArray(a.bbox) && a.bbox.length <= 8 ? JSON.stringify(a.bbox) : describeValue(a.bbox)}`;
  if (a.area !== undefined && !(typeof a.area === 'number' && a.area >= 0)) return `.area: expected a number >= 0, got ${describeValue(a.area)}`;
  if (a.iscrowd !== undefined && a.iscrowd !== 0 && a.iscrowd !== 1) return `.iscrowd: expected 0 or 1, got ${describeValue(a.iscrowd)}`;
  return undefined;
}

/**
 * A COCO instances file, checked entry by entry so evaluation cannot fail half-way, nor count an
 * annotation pycocotools would not (an unknown category, a negative size).
 */
export function readCocoGt(file: string): CocoGt {
  const json = readJson(file, 'ground-truth file');
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!isPlainObject(json) || !Array.isArray(json[key])) throw new UserError(`${file}: expected a COCO instances file with an "${key}" list`);
  }
  const gt = json as unknown as CocoGt;
  const listProblem = idListProblem(gt.images, 'images', '{id, ...}') ?? idListProblem(gt.categories, 'categories', '{id, name}');
  if (listProblem) throw new UserError(`${file}: ${listProblem}`);
  const images = new Set(gt.images.map((i) => i.id));
  const categories = new Set(gt.categories.map((c) => c.id));
  for (const [i, a] of (gt.annotations as unknown[]).entries()) {
    const problem = annotationProblem(a, images, categories);
    if (problem) throw new UserError(`${file}: annotations[${i}]${problem.startsWith('.') ? problem : ': ' + problem}`);
  }
  return gt;
}

/** Detections in the COCO results format: a list of {image_id, category_id, bbox, score}. */
export function readCocoDetections(file: string): CocoDetection[] {
  const json = readJson(file, 'detections file');
  const list = Array.isArray(json) ? json : (json as { annotations?: unknown })?.annotations;
  if (!Array.isArray(list)) throw new UserError(`${file}: expected a list of detections [{image_id, category_id, bbox, score}, ...] (the COCO results format)`);
  list.forEach((d: Partial<CocoDetection>, i) => {
    if (typeof d?.image_id !== 'number' || typeof d.category_id !== 'number') throw new UserError(`${file}: detection ${i + 1}: needs numeric image_id and category_id, got ${JSON.stringify(d)}`);
    if (!isBox(d.bbox)) throw new UserError(`${file}: detection ${i + 1} (image_id ${d.image_id}): bbox must be [x, y, width, height], got ${JSON.stringify(d.bbox)}`);
    if (typeof d.score !== 'number' || !Number.isFinite(d.score)) throw new UserError(`${file}: detection ${i + 1} (image_id ${d.image_id}): score must be a number, got ${JSON.stringify(d.score)}`);
  });
  return list as CocoDetection[];
}

export const benchmarkCocoCommand: CommandSpec = {
  name: 'benchmark coco',
  summary: 'COCO box mAP of detections (COCO results JSON) against ground truth (instances JSON): the 12-number summary of pycocotools',
  options: [
    { name: 'gt', type: 'string', valueName: 'instances.json', description: 'Ground truth: a COCO instances file (images, annotations, categories)' },
    { name: 'dt', type: 'string', valueName: 'detections.json', description: 'Detections: a list of {image_id, category_id, bbox: [x, y, w, h], score}' },
    { name: 'per-class', type: 'boolean', description: 'Also print AP and AP50 per category' },
    { name: 'json', type: 'boolean', description: 'Print the numbers as JSON' },
  ],
  details: 'The protocol is pycocotools\' COCOeval for boxes: IoU .50:.05:.95, 101 recall points, at most 1/10/100 detections per image, areas small/medium/large.',
  run(args) {
    const gtFile = args.options.gt as string | undefined;
    const dtFile = args.options.dt as string | undefined;
    if (!gtFile || !dtFile) throw new UserError('cvw benchmark coco needs --gt <instances.json> and --dt <detections.json>');
    const gt = readCocoGt(gtFile);
    const dets = readCocoDetections(dtFile);
    const cats = new Set(gt.categories.map((c) => c.id));
    const strays = dets.filter((d) => !cats.has(d.category_id));
    if (strays.length) {
      const ids = [...new Set(strays.map((d) => d.category_id))].slice(0, 10);
      process.stderr.write(`note: ${strays.length} detection(s) have category ids not in the ground truth (${ids.join(', ')}); they are not evaluated\n`);
    }
    let result;
    try {
      result = cocoEvaluate(gt, dets);
    } catch (err) {
      if (err instanceof UserError) throw new UserError(`${dtFile}: ${err.message}`);
      throw err;
    }
    if (args.options.json) {
      process.stdout.write(JSON.stringify({ ...Object.fromEntries(SUMMARY_NAMES.map((n, i) => [n, result.stats[i]])), per_class: result.perCategory }, null, 2) + '\n');
      return 0;
    }
    process.stdout.write(`${result.images} images, ${gt.annotations.length} ground-truth boxes, ${result.detections} detections\n`);
    process.stdout.write(formatSummary(result.stats) + '\n');
    if (args.options['per-class']) {
      // A loop, not Math.max(...): 200,000 categories overflow the call stack as arguments.
      const width = result.perCategory.reduce((w, c) => Math.max(w, (c.name ?? String(c.id)).length), 8);
      process.stdout.write(`\n${'category'.padEnd(width)}  AP     AP50\n`);
      for (const c of result.perCategory) process.stdout.write(`${(c.name ?? String(c.id)).padEnd(width)}  ${c.ap.toFixed(3).padStart(6)} ${c.ap50.toFixed(3).padStart(6)}\n`);
    }
    return 0;
  },
};
