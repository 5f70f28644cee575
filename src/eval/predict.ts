/** Run a model over a whole dataset and keep what evaluators need (class scores, features). */
import * as tf from '@tensorflow/tfjs-core';
import type { Algorithm } from '../models/algorithms/types';
import type { Batch } from '../data/types';
import type { TrainLoader } from '../train/dataBridge';
import { disposeTensors, toTensors } from '../train/dataBridge';
import { UserError } from '../core/problems';
import type { DetectionSample, PredictionNeed, Predictions } from './evaluator';
import { accumulateConfusion, MASK_VALUES } from './segMetrics';
import { accumulateCovered, sourcePrediction } from './segSource';
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
  const seg: SegTables = {};
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
        if (needs.has('segmentation') || needs.has('sourceSegmentation')) await addSegmentation(model, t.views[0], batch, needs, seg);
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
    segmentation: seg.pipeline,
    sourceSegmentation: seg.source,
  };
}

interface SegTables {
  pipeline?: Predictions['segmentation'];
  source?: Predictions['sourceSegmentation'];
}

const emptyTable = (k: number) => ({ numClasses: k, confusion: new Float64Array(MASK_VALUES * k) });

/**
 * Add a batch's predicted classes against its masks to the confusion tables (made on the first
 * batch): at the pipeline's mask size (`segmentation`) and at each source image's own size
 * (`sourceSegmentation`: one sample's logits read back at a time, resized back through its frame).
 */
async function addSegmentation(model: Algorithm, images: tf.Tensor4D, batch: Batch, needs: Set<PredictionNeed>, acc: SegTables): Promise<void> {
  if (!model.segment) throw new Error('this model has no per-pixel predictions (segment): evaluate a segmentor such as EncoderDecoder');
  if (!batch.masks) throw new Error('the evaluation data has no masks: use a SegDataset');
  const logits = model.segment(images);
  try {
    const [n, h, w, k] = logits.shape;
    if (needs.has('segmentation')) {
      const pred = tf.argMax(logits, 3);
      try {
        acc.pipeline ??= emptyTable(k);
        accumulateConfusion(acc.pipeline.confusion, acc.pipeline.numClasses, batch.masks.data, (await pred.data()) as Int32Array);
      } finally {
        pred.dispose();
      }
    }
    if (!needs.has('sourceSegmentation')) return;
    if (!batch.sourceMasks || !batch.frames) throw new Error('the evaluation data has no source masks: open its loader with sourceMasks (loaderNeeds)');
    if (h !== images.shape[1] || w !== images.shape[2]) throw new Error(`segment() gave logits of ${w}x${h} for images of ${images.shape[2]}x${images.shape[1]}: they cannot be mapped back to the source`);
    const table = (acc.source ??= { ...emptyTable(k), uncovered: 0 });
    for (let i = 0; i < n; i++) {
      const frame = batch.frames[i];
      const truth = batch.sourceMasks[i];
      if (!frame) throw new UserError('SegEvaluator (resolution: source): a step of the evaluation pipeline lost the mapping back to the source image; use resolution: pipeline, or Resize, CenterCrop and the colour steps only');
      if (frame.width !== truth.width || frame.height !== truth.height) throw new Error(`sample ${batch.indices[i]}: frame of ${frame.width}x${frame.height} but mask of ${truth.width}x${truth.height}`);
      const one = tf.slice(logits, [i, 0, 0, 0], [1, h, w, k]);
      let data: Float32Array;
      try {
        data = (await one.data()) as Float32Array;
      } finally {
        one.dispose();
      }
      table.uncovered += accumulateCovered(table.confusion, table.numClasses, truth.data, sourcePrediction(data, h, w, k, frame));
    }
  } finally {
    logits.dispose();
  }
}
