/**
 * The trainer's view of the input side (src/data/loader.ts builds the real loaders): batches of
 * samples per epoch, resumable from a batch index.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data/types';
import type { ComponentConfig } from '../core/schema';
import type { TensorBatch } from '../models/algorithms/types';
import { createLoader } from '../data/loader';

export interface TrainLoader {
  readonly length: number;
  readonly batchesPerEpoch: number;
  readonly classes?: string[];
  readonly numClasses?: number;
  readonly channels: number;
  epoch(epochIndex: number, startBatch?: number): AsyncIterable<Batch>;
  skipped(): Array<{ where: string; reason: string }>;
  close(): Promise<void>;
}

export interface LoaderRequest {
  dataset: ComponentConfig;
  data: Record<string, unknown>;
  split: string;
  seed: number;
  configDir?: string;
}

/** Build a loader for one dataset config. */
export async function openLoader(req: LoaderRequest): Promise<TrainLoader> {
  return createLoader({ ...req, data: req.data as Parameters<typeof createLoader>[0]['data'] });
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
