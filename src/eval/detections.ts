/**
 * Detections and ground truth of a batch mapped back to their source images through each
 * sample's frame (the per-axis scale and shift the geometric steps recorded), so evaluation
 * scores boxes where the annotations put them, whatever the evaluation pipeline resized.
 */
import { UserError } from '../core/problems';
import type { Batch, Box, Frame } from '../data/types';
import type { ImageDetections } from '../models/algorithms/types';
import type { DetectionSample } from './evaluator';

/** An interval [a, b] on one axis of the view back on the source axis (a negative scale swaps ends). */
function back(a: number, b: number, s: number, t: number): [number, number] {
  const u = (a - t) / s;
  const v = (b - t) / s;
  return u <= v ? [u, v] : [v, u];
}

/** Corner boxes in view pixels to source pixels, clipped to the source image. */
export function boxesToSource(boxes: Float32Array, f: Frame): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const [x1, x2] = back(boxes[i], boxes[i + 2], f.sx, f.tx);
    const [y1, y2] = back(boxes[i + 1], boxes[i + 3], f.sy, f.ty);
    out[i] = Math.min(Math.max(x1, 0), f.width);
    out[i + 1] = Math.min(Math.max(y1, 0), f.height);
    out[i + 2] = Math.min(Math.max(x2, 0), f.width);
    out[i + 3] = Math.min(Math.max(y2, 0), f.height);
  }
  return out;
}

/** A COCO box [x, y, w, h] in view pixels to source pixels. */
export function cocoBoxToSource(b: Box, f: Frame): Box {
  const [x1, x2] = back(b.bbox[0], b.bbox[0] + b.bbox[2], f.sx, f.tx);
  const [y1, y2] = back(b.bbox[1], b.bbox[1] + b.bbox[3], f.sy, f.ty);
  return { ...b, bbox: [x1, y1, x2 - x1, y2 - y1] };
}

/** The batch's detections and ground truth in source-image pixels. */
export function toSourceFrame(dets: ImageDetections[], batch: Batch): DetectionSample[] {
  if (!batch.boxes || !batch.frames) throw new UserError('detection evaluation needs a detection dataset (DetDataset with a COCO source)');
  return dets.map((d, i) => {
    const f = batch.frames![i];
    if (!f) throw new UserError('detection evaluation: a step of the evaluation pipeline (Mosaic, MixUp, RandomAffine) lost the mapping back to the source image; evaluate with LetterboxResize or Resize only');
    return {
      imageId: batch.imageIds?.[i] ?? -1,
      width: f.width,
      height: f.height,
      detections: { ...d, boxes: boxesToSource(d.boxes, f) },
      gt: batch.boxes![i].map((b) => cocoBoxToSource(b, f)),
      crowd: batch.crowd?.[i],
    };
  });
}
