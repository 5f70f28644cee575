/** Evaluators turn a model's predictions on a dataset into metrics (and artifacts in the run). */
import type { Box } from '../data/types';
import type { ImageDetections } from '../models/algorithms/types';

/** What a detector found in one source image, and what is there (both in the source image's pixels). */
export interface DetectionSample {
  /** Source image id (COCO image id; -1 when the source has none). */
  imageId: number;
  /** Source image width and height. */
  width: number;
  height: number;
  /** Detections, boxes as (x1, y1, x2, y2). */
  detections: ImageDetections;
  /** Ground truth, boxes as COCO (x, y, w, h). */
  gt: Box[];
  /** Crowd regions (COCO iscrowd), boxes as COCO (x, y, w, h). */
  crowd?: Box[];
}

/** Everything a model produced over one evaluation dataset, in dataset order. */
export interface Predictions {
  count: number;
  /** Labels, -1 where unknown. */
  labels?: Int32Array;
  /** Class scores, `count x numClasses`, row-major. */
  logits?: Float32Array;
  numClasses?: number;
  /** Features, `count x dim`, row-major. */
  features?: Float32Array;
  dim?: number;
  classes?: string[];
  /** The source's id of each class (COCO category ids), for result files. */
  categoryIds?: number[];
  /** Dataset indices of the rows. */
  indices: Int32Array;
  /** Detectors: per sample, detections and ground truth mapped back to the source image. */
  detections?: DetectionSample[];
  /** Segmentors: confusion of mask values (rows, 0-255) and predicted classes (columns), `256 x numClasses`, at the evaluation pipeline's mask size. */
  segmentation?: SegConfusion;
  /**
   * Segmentors: the same table at each source image's own size (logits resized back, src/eval/segSource.ts),
   * and the source pixels left out because the view did not cover them (a crop).
   */
  sourceSegmentation?: SegConfusion & { uncovered: number };
}

/** A `256 x numClasses` confusion table of mask values and predicted classes (src/eval/segMetrics.ts). */
export interface SegConfusion {
  numClasses: number;
  confusion: Float64Array;
}

export interface EvalContext {
  /** The evaluation's name (its split): the prefix of its metrics. */
  name: string;
  /** Folder for artifacts (confusion matrices, per-class tables); undefined when nothing is saved. */
  outDir?: string;
}

/**
 * What an evaluator can ask a model to produce over a dataset. `segmentation` scores at the
 * evaluation pipeline's mask size, `sourceSegmentation` at the source image's (its loader must be
 * opened with `sourceMasks`: `loaderNeeds`).
 */
export type PredictionNeed = 'logits' | 'features' | 'detections' | 'segmentation' | 'sourceSegmentation';

export interface Evaluator {
  readonly name: string;
  /** What the evaluator needs the model to produce. */
  readonly needs: Array<PredictionNeed>;
  evaluate(p: Predictions, ctx: EvalContext): Record<string, number>;
}

/** What the loader of an evaluation dataset must deliver for these evaluators (LoaderOptions). */
export function loaderNeeds(evaluators: Evaluator[]): { sourceMasks: boolean } {
  return { sourceMasks: evaluators.some((e) => e.needs.includes('sourceSegmentation')) };
}
