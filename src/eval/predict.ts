/** Run a model over a whole dataset and keep what evaluators need (class scores, features). */
import * as tf from '@tensorflow/tfjs-core';
import type { Algorithm } from '../models/algorithms/types';
import type { Batch } from '../data/types';
import type { TrainLoader } from '../train/dataBridge';
import { disposeTensors, toTensors } from '../train/dataBridge';
import type { DetectionSample, PredictionNeed, Predictions } from './evaluator';
import { accumulateConfusion, MASK_VALUES } from './segMetrics';
import { toSourceFrame } from './detections';

class Growable {
  private buf = new Float32Array(1024);
  length = 0;

  push(values: Float32Array | Int32Array): void {
    if (this.length + values.length > this.buf.length) {
      const next = new Float32Array(Math.max(this.buf.length * 2, this.length + values.length));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(values, this.length);
    this.length += values.length;
  }

  take(): Float32Array {
    return this.buf.slice(0, this.length);
  }
}

export async function collectPredictions(model: Algorithm, loader: TrainLoader, needs: Set<PredictionNeed>): Promise<Predictions> {
  const wasTraining = model.training;
  model.eval();
  const logits = new Growable();
  const features = new Growable();
  const labels: number[] = [];
  const indices: number[] = [];
  let numClasses: number | undefined;
  let dim: number | undefined;
  const detections: DetectionSample[] = [];
  let segmentation: Predictions['segmentation'];
  try {
    for await (const batch of loader.epoch(0)) {
      const t = toTensors(batch);
      try {
        const out = tf.tidy(() => {
          const kept: { y?: tf.Tensor; f?: tf.Tensor } = {};
          if (needs.has('logits')) {
            if (!model.predict) throw new Error('this model has no class scores (predict)');
            kept.y = model.predict(t.views[0]);
          }
          if (needs.has('features')) kept.f = model.extract(t.views[0]);
          return kept;
        });
        // Read back asynchronously: the webgpu engine has no synchronous read in Node.
        try {
          if (out.y) {
            numClasses = out.y.shape[1];
            logits.push((await out.y.data()) as Float32Array);
          }
          if (out.f) {
            dim = out.f.shape[1];
            features.push((await out.f.data()) as Float32Array);
          }
        } finally {
          tf.dispose([out.y, out.f].filter((x): x is tf.Tensor => x !== undefined));
        }
        if (needs.has('detections')) {
          if (!model.detect) throw new Error('this model has no detections (detect): evaluate a detector such as YOLOX');
          detections.push(...toSourceFrame(model.detect(t.views[0]), batch));
        }
        if (needs.has('segmentation')) segmentation = addSegmentation(model, t.views[0], batch, segmentation);
      } finally {
        disposeTensors(t);
      }
      if (batch.labels) labels.push(...batch.labels);
      indices.push(...batch.indices);
    }
  } finally {
    model.train(wasTraining);
  }
  return {
    count: indices.length,
    labels: labels.length === indices.length ? Int32Array.from(labels) : undefined,
    logits: needs.has('logits') ? logits.take() : undefined,
    numClasses,
    features: needs.has('features') ? features.take() : undefined,
    dim,
    classes: loader.classes,
    categoryIds: loader.categoryIds,
    indices: Int32Array.from(indices),
    detections: needs.has('detections') ? detections : undefined,
    segmentation,
  };
}

/** Add a batch's predicted classes against its masks to the confusion table (made on the first batch). */
function addSegmentation(model: Algorithm, images: tf.Tensor4D, batch: Batch, acc: Predictions['segmentation']): Predictions['segmentation'] {
  if (!model.segment) throw new Error('this model has no per-pixel predictions (segment): evaluate a segmentor such as EncoderDecoder');
  if (!batch.masks) throw new Error('the evaluation data has no masks: use a SegDataset');
  const logits = model.segment(images);
  const k = logits.shape[3];
  const pred = tf.argMax(logits, 3);
  logits.dispose();
  const out = acc ?? { numClasses: k, confusion: new Float64Array(MASK_VALUES * k) };
  try {
    accumulateConfusion(out.confusion, out.numClasses, batch.masks.data, pred.dataSync() as Int32Array);
  } finally {
    pred.dispose();
  }
  return out;
}
