/**
 * The COCO detection metric, exactly as pycocotools' COCOeval computes it for boxes (Lin et al.,
 * Microsoft COCO: Common Objects in Context, ECCV 2014, arXiv:1405.0312; cocodataset.org/#detection-eval):
 *
 * - IoU thresholds .50:.05:.95, recall thresholds 0:.01:1 (101-point interpolated precision),
 *   at most 1, 10 and 100 detections per image, area ranges all / small (< 32²) / medium / large
 *   (> 96²) by the ground truth's `area` field (detections: their box area).
 * - Per image and category, detections by descending score are matched greedily to the
 *   unmatched ground truth of highest IoU at or above the threshold; crowd ground truths may
 *   match many detections (their IoU is intersection over the detection's area) and, like ground
 *   truths outside the area range, make their matches ignored rather than true positives.
 * - Precision is made monotone from the right, sampled at the 101 recalls (0 past the last),
 *   averaged over categories that have non-ignored ground truth; the 12 summary numbers are the
 *   means over the entries that exist (-1 when none).
 *
 * Ties follow numpy's stable mergesort, as pycocotools does, so equal scores give the same
 * numbers.
 */
import { UserError } from '../core/problems';

export interface CocoGtAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: number[];
  area?: number;
  iscrowd?: number;
}

export interface CocoGt {
  images: Array<{ id: number }>;
  annotations: CocoGtAnnotation[];
  categories: Array<{ id: number; name?: string }>;
}

/** One detection in the COCO results format. */
export interface CocoDetection {
  image_id: number;
  category_id: number;
  bbox: number[];
  score: number;
}

export interface CocoEvalParams {
  maxDets: [number, number, number];
}

export interface CocoEvalResult {
  /** The 12 numbers of COCOeval.summarize(), in its order (see SUMMARY_NAMES). */
  stats: number[];
  /** AP@[.5:.95] per category id (all areas, 100 detections); -1 where the category has no ground truth. */
  perCategory: Array<{ id: number; name?: string; ap: number; ap50: number }>;
  /**
   * Per category (perCategory's order): the interpolated precision at IoU 0.5 (all areas, 100
   * detections) at each of the 101 RECALL_THRESHOLDS (pycocotools' `precision[0, :, k, 0, -1]`,
   * the curve whose mean is AP50); -1 where the category has no ground truth.
   */
  prCurves50: number[][];
  /** Images and detections evaluated. */
  images: number;
  detections: number;
}

/** numpy.linspace(start, stop, num) with endpoint: `start + k * step`, the last value exactly `stop`. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, k) => (k === num - 1 ? stop : start + k * step));
}

export const IOU_THRESHOLDS = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
export const RECALL_THRESHOLDS = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);
export const AREA_RANGES: Array<[number, number]> = [
  [0, 1e5 ** 2],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e5 ** 2],
];

/** Metric names of the 12 summary numbers, as the toolkit logs them. */
export const SUMMARY_NAMES = ['mAP', 'AP50', 'AP75', 'AP_small', 'AP_medium', 'AP_large', 'AR1', 'AR10', 'AR100', 'AR_small', 'AR_medium', 'AR_large'] as const;

/** Indices ordering `keys` ascending, stable (numpy's mergesort). */
function stableArgsort(keys: ArrayLike<number>): number[] {
  return Array.from({ length: keys.length }, (_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
}

/** pycocotools' bbIou: intersection over union, or over the detection's area for crowd ground truths. */
function boxIou(d: number[], g: number[], crowd: boolean): number {
  const w = Math.min(d[0] + d[2], g[0] + g[2]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[1] + d[3], g[1] + g[3]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const i = w * h;
  const da = d[2] * d[3];
  const u = crowd ? da : da + g[2] * g[3] - i;
  return i / u;
}

interface Gt {
  id: number;
  bbox: number[];
  area: number;
  crowd: boolean;
}

interface Dt {
  id: number;
  bbox: number[];
  area: number;
  score: number;
}

/** One (image, category, area range) evaluation: COCOeval.evaluateImg. */
interface ImageEval {
  /** Detection scores, descending, at most maxDet. */
  dtScores: number[];
  /** [threshold][detection]: 1 when matched to a ground truth. */
  dtMatched: Uint8Array[];
  dtIgnore: Uint8Array[];
  gtIgnore: Uint8Array;
}

function evaluateImg(gts: Gt[], dts: Dt[], ious: number[][], range: [number, number], maxDet: number): ImageEval | undefined {
  if (!gts.length && !dts.length) return undefined;
  const gIgn = gts.map((g) => (g.crowd || g.area < range[0] || g.area > range[1] ? 1 : 0));
  const gtOrder = stableArgsort(gIgn);
  const g = gtOrder.map((i) => gts[i]);
  const gtIgnore = Uint8Array.from(gtOrder.map((i) => gIgn[i]));
  // Detections were sorted by score once (computeIoU order); keep the first maxDet.
  const nd = Math.min(dts.length, maxDet);
  const T = IOU_THRESHOLDS.length;
  const dtMatched = Array.from({ length: T }, () => new Uint8Array(nd));
  const dtIgnore = Array.from({ length: T }, () => new Uint8Array(nd));
  if (g.length && nd) {
    const gtMatched = Array.from({ length: T }, () => new Uint8Array(g.length));
    IOU_THRESHOLDS.forEach((t, ti) => {
      for (let di = 0; di < nd; di++) {
        let iou = Math.min(t, 1 - 1e-10);
        let m = -1;
        for (let gi = 0; gi < g.length; gi++) {
          if (gtMatched[ti][gi] && !g[gi].crowd) continue;
          // Past the regular ground truths once one matched: ignored ones only fill in.
          if (m > -1 && gtIgnore[m] === 0 && gtIgnore[gi] === 1) break;
          const v = ious[di][gtOrder[gi]];
          if (v < iou) continue;
          iou = v;
          m = gi;
        }
        if (m === -1) continue;
        dtIgnore[ti][di] = gtIgnore[m];
        // pycocotools stores the gt id and later reads it as a boolean: a gt with id 0 counts as unmatched.
        dtMatched[ti][di] = g[m].id !== 0 ? 1 : 0;
        gtMatched[ti][m] = 1;
      }
    });
  }
  // Unmatched detections outside the area range are ignored.
  for (let di = 0; di < nd; di++) {
    const a = dts[di].area;
    if (a < range[0] || a > range[1]) for (let ti = 0; ti < T; ti++) if (!dtMatched[ti][di]) dtIgnore[ti][di] = 1;
  }
  return { dtScores: dts.slice(0, nd).map((d) => d.score), dtMatched, dtIgnore, gtIgnore };
}

/** The mean of the values added that are not -1 (undefined in COCOeval), or -1 when there are none (COCOeval._summarize). */
class ValidMean {
  private sum = 0;
  private n = 0;

  add(v: number): void {
    if (v <= -1) return;
    this.sum += v;
    this.n++;
  }

  addAll(other: ValidMean): void {
    this.sum += other.sum;
    this.n += other.n;
  }

  get value(): number {
    return this.n ? this.sum / this.n : -1;
  }
}

/** Evaluate detections against ground truth with the COCO box protocol. */
export function cocoEvaluate(gt: CocoGt, dets: CocoDetection[], params: CocoEvalParams = { maxDets: [1, 10, 100] }): CocoEvalResult {
  const imgIds = [...new Set(gt.images.map((i) => i.id))].sort((a, b) => a - b);
  const catIds = [...new Set(gt.categories.map((c) => c.id))].sort((a, b) => a - b);
  const imgSet = new Set(imgIds);
  const key = (img: number, cat: number) => `${img}:${cat}`;
  // The images each category has boxes or detections in: a pair with neither is no evaluation
  // (evaluateImg), and visiting every image for every category took hours for 100,000 of each.
  const imagesOf = new Map<number, Set<number>>();
  const addTo = <T>(by: Map<string, T[]>, img: number, cat: number, item: T) => {
    const k = key(img, cat);
    const list = by.get(k);
    if (list) list.push(item);
    else by.set(k, [item]);
    (imagesOf.get(cat) ?? imagesOf.set(cat, new Set()).get(cat)!).add(img);
  };
  const gtsBy = new Map<string, Gt[]>();
  for (const a of gt.annotations) addTo(gtsBy, a.image_id, a.category_id, { id: a.id, bbox: a.bbox, area: a.area ?? a.bbox[2] * a.bbox[3], crowd: !!a.iscrowd });
  const dtsBy = new Map<string, Dt[]>();
  dets.forEach((d, i) => {
    if (!imgSet.has(d.image_id)) throw new UserError(`detection ${i + 1} (image_id ${d.image_id}) is for an image that is not in the ground truth`);
    if (!Array.isArray(d.bbox) || d.bbox.length !== 4 || !d.bbox.every(Number.isFinite)) throw new UserError(`detection ${i + 1} (image_id ${d.image_id}): bbox must be [x, y, width, height], got ${JSON.stringify(d.bbox)}`);
    if (!Number.isFinite(d.score)) throw new UserError(`detection ${i + 1} (image_id ${d.image_id}): score must be a number, got ${JSON.stringify(d.score)}`);
    // loadRes: ids from 1, area = box area.
    addTo(dtsBy, d.image_id, d.category_id, { id: i + 1, bbox: d.bbox, area: d.bbox[2] * d.bbox[3], score: d.score });
  });
  const maxDet = params.maxDets[2];
  const T = IOU_THRESHOLDS.length;
  const R = RECALL_THRESHOLDS.length;
  const A = AREA_RANGES.length;
  const M = params.maxDets.length;
  const m100 = params.maxDets.indexOf(maxDet);
  // precision[t][r][a] and recall[t][a][m] of one category at a time, -1 where undefined
  // (COCOeval.accumulate), folded into the summary's means before the next: a table of all K
  // categories (4,040 values each) made a ground truth of 100,000 categories ask for 3.3 GB.
  const precision = new Float64Array(T * R * A);
  const recall = new Float64Array(T * A * M);
  const pAt = (t: number, r: number, a: number) => (t * R + r) * A + a;
  const rAt = (t: number, a: number, m: number) => (t * A + a) * M + m;
  // The summary's means (summarize: AP over IoUs, recall thresholds and categories; AR over IoUs
  // and categories), each over the values that are not -1.
  const apOf = AREA_RANGES.map(() => new ValidMean());
  const ap50 = new ValidMean();
  const ap75 = new ValidMean();
  const arOf = AREA_RANGES.map(() => params.maxDets.map(() => new ValidMean()));
  const names = new Map(gt.categories.map((c) => [c.id, c.name]));
  const perCategory: CocoEvalResult['perCategory'] = [];
  // One curve of -1 shared by the categories without precision (a fresh one each was 800 MB for a million).
  const none = RECALL_THRESHOLDS.map(() => -1);
  const prCurves50: number[][] = [];
  catIds.forEach((cat) => {
    // Each table is reset when the category first writes to it: most of many categories never do.
    let hasPrecision = false;
    let hasRecall = false;
    // In id order, as COCOeval visits them.
    const images = [...(imagesOf.get(cat) ?? [])].filter((img) => imgSet.has(img)).sort((a, b) => a - b);
    // computeIoU: detections by descending score (stable), at most maxDet, against every gt.
    const perImage = images.map((img) => {
      const gts = gtsBy.get(key(img, cat)) ?? [];
      const all = dtsBy.get(key(img, cat)) ?? [];
      const dts = stableArgsort(all.map((d) => -d.score))
        .slice(0, maxDet)
        .map((i) => all[i]);
      const ious = dts.map((d) => gts.map((g) => boxIou(d.bbox, g.bbox, g.crowd)));
      return { gts, dts, ious };
    });
    AREA_RANGES.forEach((range, a) => {
      const evals = perImage.map(({ gts, dts, ious }) => evaluateImg(gts, dts, ious, range, maxDet)).filter((e): e is ImageEval => e !== undefined);
      if (!evals.length) return;
      params.maxDets.forEach((md, m) => {
        const scores: number[] = [];
        const matched: number[][] = Array.from({ length: T }, () => []);
        const ignored: number[][] = Array.from({ length: T }, () => []);
        let npig = 0;
        for (const e of evals) {
          const n = Math.min(md, e.dtScores.length);
          for (let i = 0; i < n; i++) scores.push(e.dtScores[i]);
          for (let t = 0; t < T; t++) {
            for (let i = 0; i < n; i++) {
              matched[t].push(e.dtMatched[t][i]);
              ignored[t].push(e.dtIgnore[t][i]);
            }
          }
          for (const ig of e.gtIgnore) if (!ig) npig++;
        }
        if (npig === 0) return;
        const order = stableArgsort(scores.map((x) => -x));
        for (let t = 0; t < T; t++) {
          const nd = order.length;
          const rc = new Float64Array(nd);
          const pr = new Float64Array(nd);
          let tp = 0;
          let fp = 0;
          order.forEach((i, j) => {
            if (!ignored[t][i]) {
              if (matched[t][i]) tp++;
              else fp++;
            }
            rc[j] = tp / npig;
            pr[j] = tp / (fp + tp + Number.EPSILON);
          });
          if (!hasRecall) recall.fill(-1);
          hasRecall = true;
          recall[rAt(t, a, m)] = nd ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          if (m !== m100) continue;
          if (!hasPrecision) precision.fill(-1);
          hasPrecision = true;
          // searchsorted(rc, recThrs, side='left'): the first recall >= each threshold.
          let j = 0;
          RECALL_THRESHOLDS.forEach((thr, r) => {
            while (j < nd && rc[j] < thr) j++;
            precision[pAt(t, r, a)] = j < nd ? pr[j] : 0;
          });
        }
      });
    });

    const mine = { ap: new ValidMean(), ap50: new ValidMean() };
    if (hasPrecision) {
      for (let t = 0; t < T; t++) {
        for (let r = 0; r < R; r++) {
          for (let a = 0; a < A; a++) apOf[a].add(precision[pAt(t, r, a)]);
          const v = precision[pAt(t, r, 0)];
          mine.ap.add(v);
          if (t === 0) mine.ap50.add(v);
        }
      }
      ap50.addAll(mine.ap50);
      // IOU_THRESHOLDS[5] is 0.75.
      for (let r = 0; r < R; r++) ap75.add(precision[pAt(5, r, 0)]);
    }
    if (hasRecall) for (let t = 0; t < T; t++) for (let a = 0; a < A; a++) params.maxDets.forEach((_md, m) => arOf[a][m].add(recall[rAt(t, a, m)]));
    perCategory.push({ id: cat, name: names.get(cat), ap: mine.ap.value, ap50: mine.ap50.value });
    prCurves50.push(hasPrecision ? RECALL_THRESHOLDS.map((_r, r) => precision[pAt(0, r, 0)]) : none);
  });

  const stats = [
    apOf[0].value,
    ap50.value,
    ap75.value,
    apOf[1].value,
    apOf[2].value,
    apOf[3].value,
    arOf[0][0].value,
    arOf[0][1].value,
    arOf[0][m100].value,
    arOf[1][m100].value,
    arOf[2][m100].value,
    arOf[3][m100].value,
  ];
  return { stats, perCategory, prCurves50, images: imgIds.length, detections: dets.length };
}

/** The 12 lines COCOeval.summarize() prints, character for character. */
export function formatSummary(stats: number[], maxDets: [number, number, number] = [1, 10, 100]): string {
  const rows: Array<[boolean, string, string, number]> = [
    [true, '0.50:0.95', 'all', maxDets[2]],
    [true, '0.50', 'all', maxDets[2]],
    [true, '0.75', 'all', maxDets[2]],
    [true, '0.50:0.95', 'small', maxDets[2]],
    [true, '0.50:0.95', 'medium', maxDets[2]],
    [true, '0.50:0.95', 'large', maxDets[2]],
    [false, '0.50:0.95', 'all', maxDets[0]],
    [false, '0.50:0.95', 'all', maxDets[1]],
    [false, '0.50:0.95', 'all', maxDets[2]],
    [false, '0.50:0.95', 'small', maxDets[2]],
    [false, '0.50:0.95', 'medium', maxDets[2]],
    [false, '0.50:0.95', 'large', maxDets[2]],
  ];
  return rows
    .map(([isAp, iou, area, md], i) => {
      const title = (isAp ? 'Average Precision' : 'Average Recall').padEnd(18);
      return ` ${title} ${isAp ? '(AP)' : '(AR)'} @[ IoU=${iou.padEnd(9)} | area=${area.padStart(6)} | maxDets=${String(md).padStart(3)} ] = ${stats[i].toFixed(3)}`;
    })
    .join('\n');
}
