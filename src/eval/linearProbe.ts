/**
 * Linear evaluation of frozen features (the protocol of Zhang et al., Colorful Image
 * Colorization, ECCV 2016, and of every self-supervised paper since: SimCLR Section 4, MoCo
 * Section 4.1): a linear classifier trained with softmax cross-entropy on the features of the
 * training set, then measured on the test set. The features are computed once (no augmentation),
 * standardised with the training set's mean and deviation (a parameter-free stand-in for the
 * batch norm in front of the classifier in MAE's and MoCo v3's protocol), and the classifier is
 * trained with SGD, Nesterov momentum and a cosine learning rate.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registries } from '../core/registry';
import { Random } from '../core/random';
import { UserError } from '../core/problems';
import { Module } from '../models/nn/module';
import { Linear } from '../models/nn/layers';
import { seedInit } from '../models/nn/init';
import { crossEntropy } from '../models/losses/crossEntropy';
import type { OptimizerFactory } from '../train/optimizers/optimizer';

export interface LinearProbeOptions {
  epochs: number;
  batchSize: number;
  /** Base learning rate of SGD (cosine-annealed to 0). */
  lr: number;
  weightDecay: number;
  seed: number;
  /** Called after each epoch. */
  onEpoch?: (e: { epoch: number; loss: number; trainAccuracy: number }) => void;
}

export const LINEAR_PROBE_DEFAULTS: Omit<LinearProbeOptions, 'onEpoch'> = { epochs: 50, batchSize: 256, lr: 0.1, weightDecay: 0, seed: 0 };

class LinearClassifier extends Module {
  readonly fc: Linear;
  constructor(dim: number, classes: number) {
    super();
    this.fc = this.child('fc', new Linear(dim, classes, { init: 'zeros' }));
  }
}

export interface LinearProbe {
  /** Per-feature mean and standard deviation of the training features. */
  mean: Float32Array;
  std: Float32Array;
  weight: Float32Array;
  bias: Float32Array;
  dim: number;
  numClasses: number;
  history: Array<{ epoch: number; loss: number; train_accuracy: number }>;
}

/** Mean and standard deviation of each column (std floored so constant features stay finite). */
export function columnStats(x: Float32Array, dim: number): { mean: Float32Array; std: Float32Array } {
  const n = x.length / dim;
  const mean = new Float32Array(dim);
  const std = new Float32Array(dim);
  const sum = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) {
      const v = x[r * dim + j];
      sum[j] += v;
      sq[j] += v * v;
    }
  }
  for (let j = 0; j < dim; j++) {
    mean[j] = sum[j] / n;
    std[j] = Math.sqrt(Math.max(sq[j] / n - mean[j] ** 2, 0)) || 1;
    if (std[j] < 1e-6) std[j] = 1;
  }
  return { mean, std };
}

function standardize(x: Float32Array, dim: number, mean: Float32Array, std: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % dim;
    out[i] = (x[i] - mean[j]) / std[j];
  }
  return out;
}

/** Train a linear classifier on features `[n, dim]` with labels in 0..numClasses-1. */
export function trainLinearProbe(features: Float32Array, labels: Int32Array, dim: number, numClasses: number, o: LinearProbeOptions): LinearProbe {
  const n = labels.length;
  if (features.length !== n * dim) throw new Error(`linear probe: ${features.length / dim} feature rows but ${n} labels`);
  for (const l of labels) if (l < 0 || l >= numClasses) throw new UserError(`linear probe: label ${l} is outside 0..${numClasses - 1} (is the training data labelled?)`);
  if (!(o.epochs >= 1) || !(o.batchSize >= 1) || !(o.lr > 0)) throw new UserError('linear probe: epochs and batch size must be >= 1 and the learning rate > 0');
  const { mean, std } = columnStats(features, dim);
  const x = standardize(features, dim, mean, std);
  seedInit(o.seed);
  const model = new LinearClassifier(dim, numClasses);
  const factory = registries.optimizer.build({ type: 'SGD', lr: o.lr, momentum: 0.9, nesterov: true, weight_decay: o.weightDecay }, {}, 'linear_probe.optimizer') as OptimizerFactory;
  const optimizer = factory(model.namedParameters());
  const stepsPerEpoch = Math.ceil(n / o.batchSize);
  const total = stepsPerEpoch * o.epochs;
  const rng = new Random(o.seed ^ 0x11ea);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const history: LinearProbe['history'] = [];
  const bx = new Float32Array(o.batchSize * dim);
  const by = new Int32Array(o.batchSize);
  try {
    let step = 0;
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      let lossSum = 0;
      let correct = 0;
      for (let s = 0; s < stepsPerEpoch; s++, step++) {
        const rows = Math.min(o.batchSize, n - s * o.batchSize);
        for (let r = 0; r < rows; r++) {
          const src = order[s * o.batchSize + r];
          bx.set(x.subarray(src * dim, (src + 1) * dim), r * dim);
          by[r] = labels[src];
        }
        const lr = (o.lr * (1 + Math.cos((Math.PI * step) / total))) / 2;
        const xb = tf.tensor2d(bx.subarray(0, rows * dim), [rows, dim]);
        const yb = tf.tensor1d(by.subarray(0, rows), 'int32');
        let hits = 0;
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.fc.forward(xb) as tf.Tensor2D;
          hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), yb), 'int32')).dataSync()[0]);
          return crossEntropy(logits, yb);
        }, model.trainableVariables());
        lossSum += value.dataSync()[0] * rows;
        correct += hits;
        optimizer.step(grads, lr);
        tf.dispose([xb, yb, value, ...Object.values(grads)]);
      }
      const e = { epoch: epoch + 1, loss: lossSum / n, train_accuracy: correct / n };
      history.push(e);
      o.onEpoch?.({ epoch: e.epoch, loss: e.loss, trainAccuracy: e.train_accuracy });
    }
    return {
      mean,
      std,
      weight: model.fc.weight.dataSync().slice() as Float32Array,
      bias: model.fc.bias!.dataSync().slice() as Float32Array,
      dim,
      numClasses,
      history,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/** Class scores `[n, classes]` of features under a trained probe. */
export function probeScores(probe: LinearProbe, features: Float32Array): Float32Array {
  const x = standardize(features, probe.dim, probe.mean, probe.std);
  return tf.tidy(() => {
    const n = x.length / probe.dim;
    const logits = tf.add(tf.matMul(tf.tensor2d(x, [n, probe.dim]), tf.tensor2d(probe.weight, [probe.dim, probe.numClasses])), tf.tensor1d(probe.bias));
    return logits.dataSync() as Float32Array;
  });
}
