/**
 * What every self-supervised algorithm shares: a backbone whose pooled last feature is the
 * representation that kNN, linear probes and retrieval use, a check that the data has the
 * channels the backbone expects and the views the method needs, and helpers to run a network
 * over views of different sizes (multi-crop).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../../core/problems';
import { Module } from '../../nn/module';
import { globalAvgPool } from '../../nn/layers';
import { checkInputChannels, type Backbone } from '../../backbones/types';
import type { Algorithm, DataInfo, StepOutput, TensorBatch, TrainProgress } from '../types';
import type { BuildContext } from '../../../core/registry';
import { MomentumEncoder, type MomentumEncoderSpec } from './momentum';

/** The representation of a backbone's outputs: the last feature, averaged over space when it is a map. */
export function pooledFeature(features: tf.Tensor[]): tf.Tensor2D {
  const last = features[features.length - 1];
  return (last.rank === 4 ? globalAvgPool(last as tf.Tensor4D) : last) as tf.Tensor2D;
}

/** The channels of the last backbone output (what a neck or head receives). */
export function lastChannels(m: { outChannels: number[] }): number {
  return m.outChannels[m.outChannels.length - 1];
}

/**
 * Run `fn` over views grouped by resolution: consecutive views of the same size are concatenated
 * into one batch (one forward pass, shared batch-norm statistics, as SwAV and DINO do), and the
 * outputs are split back per view.
 */
export function forwardByResolution(views: tf.Tensor4D[], fn: (x: tf.Tensor4D) => tf.Tensor2D): tf.Tensor2D[] {
  const out: tf.Tensor2D[] = [];
  let start = 0;
  while (start < views.length) {
    let end = start + 1;
    const [, h, w] = views[start].shape;
    while (end < views.length && views[end].shape[1] === h && views[end].shape[2] === w) end++;
    const group = views.slice(start, end);
    const y = fn(group.length === 1 ? group[0] : (tf.concat(group, 0) as tf.Tensor4D));
    const sizes = group.map((v) => v.shape[0]);
    out.push(...(group.length === 1 ? [y] : (tf.split(y, sizes, 0) as tf.Tensor2D[])));
    start = end;
  }
  return out;
}

/**
 * Multi-crop as the reference implementations run it (SwAV's ResNet.forward, DINO's
 * MultiCropWrapper): `backbone` over each run of same-size views (one batch per resolution), then
 * `head` once over the features of every view together, so a batch norm in the head normalises
 * over all views as there; the outputs are split back per view.
 */
export function forwardMultiCrop(views: tf.Tensor4D[], backbone: (x: tf.Tensor4D) => tf.Tensor2D, head: (features: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D[] {
  const features = forwardByResolution(views, backbone);
  if (features.length === 1) return [head(features[0])];
  const out = head(tf.concat(features, 0) as tf.Tensor2D);
  return tf.split(out, features.map((f) => f.shape[0]), 0) as tf.Tensor2D[];
}

export abstract class SelfSupervised extends Module implements Algorithm {
  abstract readonly backbone: Backbone;
  /** The algorithm's name, for messages. */
  abstract readonly kind: string;
  /** Fewest views per sample the method needs (SimCLR, BYOL: 2). */
  protected readonly minViews: number = 2;

  abstract trainStep(batch: TensorBatch, progress: TrainProgress): StepOutput;

  /** Pooled features of the (online) backbone, `[batch, dim]`. */
  extract(images: tf.Tensor4D): tf.Tensor2D {
    return pooledFeature(this.featureBackbone().forward(images));
  }

  /** The network whose features `extract` gives (the benchmarks pool its maps on request). */
  featureBackbone(): Backbone {
    return this.backbone;
  }

  /** The momentum copy of the online network, registered in this model's state. */
  protected momentumEncoder<T extends Module>(ctx: BuildContext, spec: MomentumEncoderSpec<T>): MomentumEncoder<Backbone, T> {
    return MomentumEncoder.build((name, m) => this.child(name, m), ctx, spec);
  }

  /** Throws when a batch has fewer views than the method needs. */
  protected requireViews(batch: TensorBatch, n = this.minViews): void {
    if (batch.views.length < n) {
      throw new UserError(
        `${this.kind} needs ${n} views of each image, but the batch has ${batch.views.length}: use a MultiViewDataset for data.train with views: [{num: ${n}, pipeline: [...]}]`,
      );
    }
  }

  checkData(info: DataInfo): void {
    checkInputChannels(this.backbone, info.channels);
  }
}
