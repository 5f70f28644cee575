import type * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../nn/module';
import type { Backbone } from '../backbones/types';
import type { Batch } from '../../data/types';
import type { Hook } from '../../train/hook';

/** A batch as tensors: `views[v]` is view v of every sample (NHWC). */
export interface TensorBatch {
  views: tf.Tensor4D[];
  labels?: tf.Tensor1D;
  raw: Batch;
}

/** Where training stands, for schedules inside algorithms (momentum, temperatures, masking). */
export interface TrainProgress {
  /** 0-based iteration (optimizer step) about to run. */
  iter: number;
  epoch: number;
  maxIters: number;
  itersPerEpoch: number;
}

export interface StepOutput {
  /** The scalar that is differentiated. */
  loss: tf.Scalar;
  /** Extra scalars for metrics.jsonl (kept alive past the step's tidy by the trainer). */
  logs?: Record<string, tf.Scalar>;
}

/** What the data looks like, so an algorithm can refuse a config that does not fit before training. */
export interface DataInfo {
  channels: number;
  numClasses?: number;
  imageSize?: [number, number];
}

/** Detections of one image, best first: boxes `[k, 4]` (x1, y1, x2, y2) in input pixels, row-major. */
export interface ImageDetections {
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
}

/** A trainable model: a classifier, a self-supervised method, a detector. */
export interface Algorithm extends Module {
  readonly backbone: Backbone;
  /** Loss of one batch; runs inside the gradient tape. */
  trainStep(batch: TensorBatch, progress: TrainProgress): StepOutput;
  /** Features for kNN, linear probes and retrieval: `[batch, dim]`, eval mode. */
  extract(images: tf.Tensor4D): tf.Tensor2D;
  /** The network `extract` pools (default: `backbone`; DINO's teacher on request). */
  featureBackbone?(): Backbone;
  /** Class scores `[batch, classes]` for classifiers. */
  predict?(images: tf.Tensor4D): tf.Tensor2D;
  /** Boxes, scores and labels of each image after post-processing (NMS), for detectors; eval mode. */
  detect?(images: tf.Tensor4D): ImageDetections[];
  /** Class logits of every pixel at the input size `[batch, h, w, classes]`, for segmentors; eval mode. */
  segment?(images: tf.Tensor4D): tf.Tensor4D;
  /** Throws a UserError when the config cannot work with this data (channels, classes). */
  checkData?(info: DataInfo): void;
  /** Hooks the method needs (momentum encoders, schedules), added to the configured ones. */
  hooks?(): Hook[];
}
