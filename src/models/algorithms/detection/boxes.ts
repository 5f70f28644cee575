/**
 * Box arithmetic on plain arrays: format conversions, IoU and non-maximum suppression. Label
 * assignment and post-processing run here on the CPU (a few hundred anchors per image), not on
 * the engine, so they are exact, deterministic and free of kernel launches.
 */

/** A box as (x1, y1, x2, y2) corners in pixels. */
export type XYXY = [number, number, number, number];

/** COCO (x, y, w, h) to corners. */
export function xywhToXyxy(b: ArrayLike<number>): XYXY {
  return [b[0], b[1], b[0] + b[2], b[1] + b[3]];
}

/** Corners to COCO (x, y, w, h). */
export function xyxyToXywh(b: ArrayLike<number>): [number, number, number, number] {
  return [b[0], b[1], b[2] - b[0], b[3] - b[1]];
}

/** Centre form (cx, cy, w, h) to corners. */
export function cxcywhToXyxy(b: ArrayLike<number>): XYXY {
  return [b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2];
}

/** IoU of two corner boxes; 0 when they do not overlap (or have no area). */
export function iouXyxy(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * IoU of two centre-form boxes exactly as YOLOX's `bboxes_iou(..., xyxy=False)` computes it
 * (intersection zeroed unless top-left < bottom-right on both axes, no epsilon).
 */
export function iouCxcywh(ax: number, ay: number, aw: number, ah: number, bx: number, by: number, bw: number, bh: number): number {
  const tlx = Math.max(ax - aw / 2, bx - bw / 2);
  const tly = Math.max(ay - ah / 2, by - bh / 2);
  const brx = Math.min(ax + aw / 2, bx + bw / 2);
  const bry = Math.min(ay + ah / 2, by + bh / 2);
  const inter = tlx < brx && tly < bry ? (brx - tlx) * (bry - tly) : 0;
  return inter / (aw * ah + bw * bh - inter);
}

/**
 * Greedy non-maximum suppression (as torchvision's `nms`): boxes by descending score, each kept
 * unless it overlaps a kept one by more than `iouThreshold`. Returns kept indices, best first.
 * Equal scores keep the lower index first, so results do not depend on the sort's stability.
 */
export function nms(boxes: ArrayLike<number>[], scores: ArrayLike<number>, iouThreshold: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const kept: number[] = [];
  const suppressed = new Uint8Array(scores.length);
  for (let oi = 0; oi < order.length; oi++) {
    const i = order[oi];
    if (suppressed[i]) continue;
    kept.push(i);
    for (let oj = oi + 1; oj < order.length; oj++) {
      const j = order[oj];
      if (!suppressed[j] && iouXyxy(boxes[i], boxes[j]) > iouThreshold) suppressed[j] = 1;
    }
  }
  return kept;
}

/** NMS within each class (torchvision's `batched_nms`): boxes of different labels never suppress each other. */
export function batchedNms(boxes: ArrayLike<number>[], scores: ArrayLike<number>, labels: ArrayLike<number>, iouThreshold: number): number[] {
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < scores.length; i++) {
    const l = labels[i];
    const list = byLabel.get(l);
    if (list) list.push(i);
    else byLabel.set(l, [i]);
  }
  const kept: number[] = [];
  for (const members of byLabel.values()) {
    const k = nms(
      members.map((i) => boxes[i]),
      members.map((i) => scores[i]),
      iouThreshold,
    );
    for (const j of k) kept.push(members[j]);
  }
  return kept.sort((a, b) => scores[b] - scores[a] || a - b);
}
