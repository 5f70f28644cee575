/** Between the input side and the trainer: loaders for a config's datasets, batches as tensors. */
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data/types';
import type { TensorBatch } from '../models/algorithms/types';
import { createLoader, type Loader, type LoaderOptions } from '../data/loader';

/** The trainer reads data through the input side's loader. */
export type TrainLoader = Loader;

/** A loader for one dataset of a resolved config (`data` is its data section). */
export async function openLoader(req: Omit<LoaderOptions, 'data'> & { data: Record<string, unknown> }): Promise<TrainLoader> {
  return createLoader({ ...req, data: req.data as LoaderOptions['data'] });
}

/** A batch as tensors (one copy of each view into the engine). */
export function toTensors(batch: Batch): TensorBatch {
  return {
    views: batch.views.map((v) => tf.tensor4d(v.data, v.shape, 'float32')),
    labels: batch.labels ? tf.tensor1d(batch.labels, 'int32') : undefined,
    raw: batch,
  };
}

export function disposeTensors(b: TensorBatch): void {
  for (const v of b.views) v.dispose();
  b.labels?.dispose();
}

/** Samples in a batch. */
export function batchSize(batch: Batch): number {
  return batch.views[0]?.shape[0] ?? 0;
}
