/** Messages between the loader and its decoding workers. */
import type { ComponentConfig } from '../../core/schema';
import type { Batch, Box, ImageRef } from '../types';

export interface WorkerInit {
  /** Step configs of each view, in batch order. */
  views: ComponentConfig[][];
  /** Step configs run once per image before every view's (MultiViewDataset's shared_pipeline). */
  shared?: ComponentConfig[];
  /** Channels to decode to. */
  channels: number;
  seed: number;
  withBoxes: boolean;
  /** Decode each item's mask and carry it through the pipeline into the batch (segmentation). */
  withMasks?: boolean;
  /** With `withMasks`: also put each sample's mask as decoded and its view-0 frame in the batch (scoring at the source resolution). */
  withSourceMasks?: boolean;
  withLabels: boolean;
  /** Files of custom (non built-in) pipeline steps, loaded before the pipelines are built. */
  modules: string[];
}

/** One item to turn into a sample. */
export interface TaskItem {
  index: number;
  image: ImageRef;
  label?: number;
  boxes?: Box[];
  crowd?: Box[];
  imageId?: number;
  mask?: ImageRef;
  reduceZeroLabel?: boolean;
  where: string;
  /** Other samples a mixing step (Mosaic, MixUp) combines with this one. */
  extras?: Array<{ image: ImageRef; boxes?: Box[]; where: string }>;
}

export interface Failure {
  index: number;
  where: string;
  reason: string;
}

export interface BatchResult {
  /** Undefined when every item failed. */
  batch?: Batch;
  failures: Failure[];
  /** A mistake in the config (not in the data): never skipped. */
  fatal?: string;
}

export type ToWorker = { type: 'task'; id: number; epoch: number; items: TaskItem[] };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-error'; message: string }
  | ({ type: 'result'; id: number } & BatchResult);
