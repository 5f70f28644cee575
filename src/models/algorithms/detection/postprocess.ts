/**
 * YOLOX post-processing (the reference's `postprocess`): each cell's best class, scored
 * objectness x class probability, kept above a confidence threshold, then non-maximum
 * suppression per class (or across classes) and at most `maxDetections` boxes per image.
 */
import type { ImageDetections } from '../types';
import { batchedNms, cxcywhToXyxy, nms, type XYXY } from './boxes';

export interface PostprocessOptions {
  /** Minimum objectness x class probability (0.01 for COCO evaluation, higher for display). */
  scoreThreshold: number;
  nmsThreshold: number;
  maxDetections: number;
  /** Suppress across classes instead of within each class. */
  classAgnostic?: boolean;
}

function suppress(boxes: XYXY[], scores: number[], labels: number[], options: PostprocessOptions): ImageDetections {
  const kept = (options.classAgnostic ? nms(boxes, scores, options.nmsThreshold) : batchedNms(boxes, scores, labels, options.nmsThreshold)).slice(0, options.maxDetections);
  const out: ImageDetections = { boxes: new Float32Array(kept.length * 4), scores: new Float32Array(kept.length), labels: new Int32Array(kept.length) };
  kept.forEach((i, k) => {
    out.boxes.set(boxes[i], k * 4);
    out.scores[k] = scores[i];
    out.labels[k] = labels[i];
  });
  return out;
}

/**
 * Detections of one image from decoded predictions `[A, 4 + 1 + C]` (cx, cy, w, h, objectness,
 * class probabilities), row-major.
 */
export function postprocess(decoded: ArrayLike<number>, anchors: number, numClasses: number, options: PostprocessOptions): ImageDetections {
  const stride = 5 + numClasses;
  const boxes: XYXY[] = [];
  const scores: number[] = [];
  const labels: number[] = [];
  for (let a = 0; a < anchors; a++) {
    const r = a * stride;
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (decoded[r + 5 + c] > decoded[r + 5 + best]) best = c;
    const score = decoded[r + 4] * decoded[r + 5 + best];
    if (!(score >= options.scoreThreshold)) continue;
    boxes.push(cxcywhToXyxy([decoded[r], decoded[r + 1], decoded[r + 2], decoded[r + 3]]));
    scores.push(score);
    labels.push(best);
  }
  return suppress(boxes, scores, labels, options);
}

/**
 * The same from an export's outputs: `boxes` `[A, 4]` (x1, y1, x2, y2) and `scores` `[A, C]`
 * (objectness x class probability), row-major.
 */
export function postprocessScores(boxData: ArrayLike<number>, scoreData: ArrayLike<number>, anchors: number, numClasses: number, options: PostprocessOptions): ImageDetections {
  const boxes: XYXY[] = [];
  const scores: number[] = [];
  const labels: number[] = [];
  for (let a = 0; a < anchors; a++) {
    const r = a * numClasses;
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (scoreData[r + c] > scoreData[r + best]) best = c;
    const score = scoreData[r + best];
    if (!(score >= options.scoreThreshold)) continue;
    boxes.push([boxData[4 * a], boxData[4 * a + 1], boxData[4 * a + 2], boxData[4 * a + 3]]);
    scores.push(score);
    labels.push(best);
  }
  return suppress(boxes, scores, labels, options);
}
