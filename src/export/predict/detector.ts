/**
 * Detector: boxes, scores and class labels of each image from an exported (or trained) detector
 * (YOLOX). The export gives every cell's decoded box and class scores; this applies the score
 * threshold, non-maximum suppression per class and the per-image cap, and maps the boxes back
 * from the network input to the image's own pixels.
 *
 *   const det = new Detector('work_dirs/yolox/run/export/model.onnx', { scoreThreshold: 0.3 });
 *   const { detections } = await det.predict('street.jpg');
 *   // [{ box: [x1, y1, x2, y2], score: 0.91, label: 0, name: 'person' }, ...]
 */
import { UserError } from '../../core/problems';
import { boxesToSource } from '../../eval/detections';
import { postprocessScores } from '../../models/algorithms/detection/postprocess';
import type { ExportMetadata } from '../metadata';
import type { InferenceBackend } from './backends';
import type { PreparedImage } from './images';
import { Predictor, type ImageOutputs, type PredictorOptions } from './predictor';

export interface Detection {
  /** (x1, y1, x2, y2) in the input image's pixels. */
  box: [number, number, number, number];
  /** Objectness x class probability. */
  score: number;
  label: number;
  /** Class name (the index as text when the model has none). */
  name: string;
}

export interface DetectionResult {
  /** Best first. */
  detections: Detection[];
  /** The input image's size. */
  width: number;
  height: number;
}

export interface DetectorOptions extends PredictorOptions {
  /** Lowest score kept (default 0.3). */
  scoreThreshold?: number;
  /** IoU above which a lower-scored box of the same class is suppressed (default 0.65, YOLOX). */
  nmsThreshold?: number;
  /** Boxes kept per image (default 100). */
  maxDetections?: number;
  /** Suppress across classes, not only within each (default false). */
  classAgnostic?: boolean;
}

/** What a Detector keeps when its options leave them out (`cvw predict` says so in its help). */
export const DETECTOR_DEFAULTS = { scoreThreshold: 0.3, nmsThreshold: 0.65, maxDetections: 100 };

export class Detector extends Predictor<DetectionResult> {
  private readonly opts: Required<Pick<DetectorOptions, 'scoreThreshold' | 'nmsThreshold' | 'maxDetections' | 'classAgnostic'>>;

  constructor(modelPath: string, options: DetectorOptions = {}) {
    super(modelPath, options);
    const d = DETECTOR_DEFAULTS;
    this.opts = { scoreThreshold: options.scoreThreshold ?? d.scoreThreshold, nmsThreshold: options.nmsThreshold ?? d.nmsThreshold, maxDetections: options.maxDetections ?? d.maxDetections, classAgnostic: options.classAgnostic ?? false };
    const { scoreThreshold: s, nmsThreshold: t, maxDetections: m } = this.opts;
    if (!(s >= 0 && s <= 1)) throw new UserError(`scoreThreshold must be between 0 and 1, got ${s}`);
    if (!(t >= 0 && t <= 1)) throw new UserError(`nmsThreshold must be between 0 and 1, got ${t}`);
    if (!Number.isInteger(m) || m < 1) throw new UserError(`maxDetections must be a positive integer, got ${m}`);
  }

  protected check(backend: InferenceBackend): void {
    const m = backend.metadata;
    if (m.task !== 'detection') throw new UserError(`${backend.path}: a ${m.task} model (${m.model}) has no boxes; use a ${m.task === 'classification' ? 'Classifier' : 'FeatureExtractor'}`);
    for (const name of ['boxes', 'scores']) {
      if (!backend.outputNames.includes(name)) throw new UserError(`${backend.path}: the detector has no "${name}" output (outputs: ${backend.outputNames.join(', ')}); export it again with a current cvw`);
    }
  }

  protected postprocess(outputs: ImageOutputs, image: PreparedImage, meta: ExportMetadata): DetectionResult {
    const boxes = outputs.boxes;
    const scores = outputs.scores;
    const anchors = boxes.shape[0];
    const classes = scores.shape[scores.shape.length - 1];
    const found = postprocessScores(boxes.data, scores.data, anchors, classes, this.opts);
    const mapped = image.frame ? boxesToSource(found.boxes, image.frame) : found.boxes;
    const detections: Detection[] = Array.from(found.scores, (score, k) => ({
      box: [mapped[4 * k], mapped[4 * k + 1], mapped[4 * k + 2], mapped[4 * k + 3]],
      score,
      label: found.labels[k],
      name: meta.classes?.[found.labels[k]] ?? String(found.labels[k]),
    }));
    return { detections, width: image.original.width, height: image.original.height };
  }
}
