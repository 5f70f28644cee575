/**
 * The run report: what `cvw report <run>` computes into `<run>/report/report.json` (sample
 * predictions, nearest-neighbour retrieval, a 2-D projection of features) and what the report
 * panel shows around it (summary, curves, confusion matrices, benchmarks). Browser-safe.
 */
import type { SegEvalSummary } from '../../eval/segEvaluator';
import type { BenchmarkEntry } from './benchmarks';
import type { ClassComparison } from './classCompare';
import type { MetricTable } from './metrics';
import type { RunSummary } from './run';

export const REPORT_DIR = 'report';
export const REPORT_FILE = 'report.json';
export const REPORT_VERSION = 1;
/** `report/compare.json`: `{ runs: [path, ...] }`, the runs `cvw report --compare` compares this one with (paths relative to the run). */
export const COMPARE_FILE = 'compare.json';

/** Where `cvw report` puts the thumbnail of image `index` of `split`, relative to the run. */
export function reportThumbnail(split: string, index: number): string {
  return `${REPORT_DIR}/images/${split}-${String(index).padStart(6, '0')}.png`;
}

/** `eval/<split>_confusion_matrix.json` as the evaluator writes it. */
export interface ConfusionMatrix {
  split: string;
  classes: string[];
  /** matrix[true][predicted] counts. */
  matrix: number[][];
  per_class_accuracy?: number[];
  count?: number;
}

export interface ScoredClass {
  label: number;
  name: string;
  score: number;
}

/** One gallery image: the image, its true class when known, and what the model said. */
export interface GalleryItem {
  /** Path relative to the run directory (`report/images/val-0042.png`). */
  image: string;
  /** Index in the dataset it came from. */
  index: number;
  label?: number;
  predicted: number;
  predictedName: string;
  score: number;
  topk: ScoredClass[];
  correct?: boolean;
}

/** One image of a detector's gallery: the image with the boxes drawn, the boxes, and the ground truth. */
export interface DetectionGalleryItem {
  /** Path relative to the run directory, boxes drawn in. */
  image: string;
  index: number;
  /** (x1, y1, x2, y2) in the image's pixels, best first. */
  detections: Array<{ box: [number, number, number, number]; score: number; label: number; name: string }>;
  gt?: Array<{ box: [number, number, number, number]; label: number; name: string }>;
}

/** One image of a segmentor's gallery: the image, its truth and the prediction blended over it. */
export interface SegmentationOverlay {
  index: number;
  /** Paths relative to the run directory. */
  image: string;
  truth?: string;
  prediction: string;
}

/**
 * Segmentors: overlays of sample images and SegEvaluator's summary (mIoU, per-class IoU, accuracy
 * and pixel frequency) of the weights' predictions on the images the report read.
 */
export interface SegmentationReport {
  overlays: SegmentationOverlay[];
  /** RGB colour of each class as drawn (the masks' palette, else the Pascal VOC colour map). */
  colors: Array<[number, number, number]>;
  metrics?: SegEvalSummary;
}

export interface Neighbour {
  image: string;
  index: number;
  label?: number;
  similarity: number;
}

export interface RetrievalQuery {
  query: { image: string; index: number; label?: number };
  neighbours: Neighbour[];
}

/** Features projected to 2-D (PCA), one point per sample. */
export interface Projection {
  method: 'pca';
  /** Fraction of the variance each of the two axes explains. */
  explained: [number, number];
  x: number[];
  y: number[];
  /** Class index per point (-1 when unlabelled). */
  labels: number[];
}

export interface GeneratedReport {
  version: number;
  created: string;
  /** The weights used (checkpoint path), and which data. */
  checkpoint: string;
  split: string;
  task: 'classification' | 'features' | 'detection' | 'segmentation';
  classes?: string[];
  gallery?: GalleryItem[];
  /** Detectors: sample images with their boxes. */
  detections?: DetectionGalleryItem[];
  segmentation?: SegmentationReport;
  /** Of the gallery: how many were right. */
  accuracy?: number;
  retrieval?: RetrievalQuery[];
  projection?: Projection;
  seconds: number;
}

/** Everything the report panel (and the standalone HTML export) renders. */
export interface ReportData {
  summary: RunSummary;
  configText?: string;
  tables: MetricTable[];
  /** As RunSnapshot.metricsLeftOut. */
  metricsLeftOut?: number;
  confusion: ConfusionMatrix[];
  benchmarks: BenchmarkEntry[];
  generated?: GeneratedReport;
  /** Image paths of `generated` (relative to the run) → a URI the page can load. */
  images: Record<string, string>;
  /** `cvw report --compare`: this run (first) and the others class by class, with a label per run. */
  comparison?: { labels: string[]; classes: ClassComparison };
}
