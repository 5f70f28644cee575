/**
 * SimOTA label assignment of YOLOX (Ge et al., YOLOX: Exceeding YOLO Series in 2021,
 * arXiv:2107.08430, section 2.1 "SimOTA"), a simplification of OTA (Ge et al., Optimal Transport
 * Assignment for Object Detection, CVPR 2021, arXiv:2103.14259).
 *
 * For one image: anchors whose centre lies within `center_radius` strides of a ground-truth
 * centre are candidates (the geometry prior). The cost of pairing ground truth g with candidate a
 * is `L_cls(g, a) + 3 L_iou(g, a)` (+1e6 when a is outside g's centre region), with
 * `L_cls` the binary cross-entropy of sqrt(sigmoid(cls) * sigmoid(obj)) against g's one-hot class
 * and `L_iou = -log(IoU + 1e-8)`. Each g takes its `k_g` cheapest anchors, where the dynamic
 * `k_g` is the integer part of the sum of g's ten largest IoUs (at least 1); an anchor claimed by
 * several ground truths goes to the cheapest one.
 *
 * This is the assignment of the reference's current `get_assignments` / `simota_matching`, run on
 * the CPU over plain arrays: it takes no gradient, and a few hundred anchors per image make it
 * cheaper than any kernel launch.
 */
import { iouCxcywh } from './boxes';

export interface GtBox {
  /** Centre and size in input pixels. */
  cx: number;
  cy: number;
  w: number;
  h: number;
  label: number;
}

/** The anchor points of the head: one per output cell of every level. */
export interface AnchorGrid {
  /** Cell column and row (the reference's x_shifts, y_shifts) and the level's stride, per anchor. */
  xs: Float32Array;
  ys: Float32Array;
  strides: Float32Array;
  count: number;
}

export interface ImagePredictions {
  /** Decoded boxes `[A, 4]` (cx, cy, w, h) in input pixels. */
  boxes: ArrayLike<number>;
  /** Class logits `[A, C]`. */
  cls: ArrayLike<number>;
  /** Objectness logits `[A]`. */
  obj: ArrayLike<number>;
  numClasses: number;
}

export interface Assignment {
  /** Foreground anchor indices, ascending. */
  fg: number[];
  /** Ground-truth index of each foreground anchor. */
  gt: number[];
  /** IoU of each foreground anchor's predicted box with its ground truth (the soft class target). */
  iou: number[];
}

export interface SimOtaOptions {
  /** Candidate region half-size in strides (1.5 in the reference). */
  centerRadius?: number;
  /** Candidates whose IoUs give the dynamic k (10). */
  topkCandidates?: number;
  /** Weight of the IoU cost (3). */
  iouWeight?: number;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** PyTorch's binary_cross_entropy clamps each log term at -100. */
function clampedLog(x: number): number {
  return Math.max(Math.log(x), -100);
}

/** Centre-region candidates: `inCenter[g][j]` for candidate j, and the candidate anchor indices. */
export function geometryConstraint(gts: GtBox[], grid: AnchorGrid, centerRadius: number): { candidates: number[]; inCenter: Uint8Array[] } {
  const any = new Uint8Array(grid.count);
  const rows = gts.map(() => new Uint8Array(grid.count));
  for (let a = 0; a < grid.count; a++) {
    const s = grid.strides[a];
    const x = (grid.xs[a] + 0.5) * s;
    const y = (grid.ys[a] + 0.5) * s;
    const r = s * centerRadius;
    gts.forEach((g, gi) => {
      const d = Math.min(x - (g.cx - r), g.cx + r - x, y - (g.cy - r), g.cy + r - y);
      if (d > 0) {
        rows[gi][a] = 1;
        any[a] = 1;
      }
    });
  }
  const candidates: number[] = [];
  for (let a = 0; a < grid.count; a++) if (any[a]) candidates.push(a);
  return { candidates, inCenter: rows.map((row) => Uint8Array.from(candidates, (a) => row[a])) };
}

/** Assign ground truths to anchors for one image. */
export function simOta(gts: GtBox[], grid: AnchorGrid, pred: ImagePredictions, options: SimOtaOptions = {}): Assignment {
  const centerRadius = options.centerRadius ?? 1.5;
  const topk = options.topkCandidates ?? 10;
  const iouWeight = options.iouWeight ?? 3;
  const G = gts.length;
  if (G === 0) return { fg: [], gt: [], iou: [] };
  const { candidates, inCenter } = geometryConstraint(gts, grid, centerRadius);
  const M = candidates.length;
  if (M === 0) return { fg: [], gt: [], iou: [] };
  const C = pred.numClasses;

  // Pairwise IoU and cost, G x M.
  const ious = gts.map(() => new Float64Array(M));
  const cost = gts.map(() => new Float64Array(M));
  // The class cost needs sum over classes of -log(1 - p) once per anchor, then the one-hot term per gt.
  const logP = new Float64Array(M * C);
  const log1mP = new Float64Array(M * C);
  const sumLog1mP = new Float64Array(M);
  for (let j = 0; j < M; j++) {
    const a = candidates[j];
    const so = sigmoid(pred.obj[a]);
    let s = 0;
    for (let c = 0; c < C; c++) {
      const p = Math.sqrt(sigmoid(pred.cls[a * C + c]) * so);
      logP[j * C + c] = clampedLog(p);
      log1mP[j * C + c] = clampedLog(1 - p);
      s += log1mP[j * C + c];
    }
    sumLog1mP[j] = s;
  }
  gts.forEach((g, gi) => {
    for (let j = 0; j < M; j++) {
      const a = candidates[j];
      const b = a * 4;
      const iou = iouCxcywh(g.cx, g.cy, g.w, g.h, pred.boxes[b], pred.boxes[b + 1], pred.boxes[b + 2], pred.boxes[b + 3]);
      ious[gi][j] = iou;
      const clsCost = -(sumLog1mP[j] - log1mP[j * C + g.label] + logP[j * C + g.label]);
      cost[gi][j] = clsCost + iouWeight * -Math.log(iou + 1e-8) + (inCenter[gi][j] ? 0 : 1e6);
    }
  });

  // Dynamic k: the integer part of the sum of each gt's top-k IoUs, at least 1.
  const nCand = Math.min(topk, M);
  const matching = gts.map(() => new Uint8Array(M));
  gts.forEach((_, gi) => {
    const top = Array.from(ious[gi]).sort((x, y) => y - x);
    let sum = 0;
    for (let i = 0; i < nCand; i++) sum += top[i];
    const k = Math.max(1, Math.trunc(sum));
    const order = Array.from({ length: M }, (_, j) => j).sort((x, y) => cost[gi][x] - cost[gi][y] || x - y);
    for (let i = 0; i < Math.min(k, M); i++) matching[gi][order[i]] = 1;
  });

  const fg: number[] = [];
  const gtOf: number[] = [];
  const iouOf: number[] = [];
  for (let j = 0; j < M; j++) {
    let count = 0;
    let only = -1;
    for (let gi = 0; gi < G; gi++) {
      if (!matching[gi][j]) continue;
      count++;
      only = gi;
    }
    if (count === 0) continue;
    let g = only;
    if (count > 1) {
      // Claimed by several: the cheapest gt among all of them (first on ties, as torch.min).
      g = 0;
      for (let gi = 1; gi < G; gi++) if (cost[gi][j] < cost[g][j]) g = gi;
    }
    fg.push(candidates[j]);
    gtOf.push(g);
    iouOf.push(ious[g][j]);
  }
  return { fg, gt: gtOf, iou: iouOf };
}
