/**
 * One training step of a toolkit classifier (a backbone, ClsHead with 10 classes, cross-entropy),
 * forward + backward + SGD update (lr 0.1, momentum 0.9, weight decay 5e-4), as `cvw train` runs
 * it: tf.variableGrads over the model's trainStep, then the optimizer. The CIFAR-style ResNet-18
 * is the default benchmark model; bench/engine/benchModels.ts lists the others.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { seedInit } from '../../src/models/nn/init';
import { seedStep } from '../../src/models/nn/stepRandom';
import type { Algorithm, TensorBatch } from '../../src/models/algorithms/types';
import type { OptimizerFactory } from '../../src/train/optimizers/optimizer';
import { Random } from '../../src/core/random';
import { BENCH_MODELS } from './benchModels';

export interface StepBench {
  model: Algorithm;
  /** Run one step; returns the loss (read asynchronously: the webgpu engine has no synchronous read in Node). */
  step(): Promise<number>;
  dispose(): void;
}

export function resnet18Step(batchSize: number, seed = 0, imageSize = 32, baseWidth = 64): StepBench {
  return classifierStep({ ...BENCH_MODELS.resnet18.backbone, ...(baseWidth !== 64 ? { base_width: baseWidth } : {}) }, batchSize, seed, imageSize);
}

/** A training step of `backbone` (a registry config) + ClsHead (10 classes) on random square RGB images. */
export function classifierStep(backbone: Record<string, unknown>, batchSize: number, seed = 0, imageSize = 32): StepBench {
  seedInit(seed);
  const model = build<Algorithm>('model', { type: 'Classification', backbone, head: { type: 'ClsHead', num_classes: 10 } });
  model.train(true);
  const named = model.namedParameters().filter(([, p]) => p.variable.trainable);
  const optimizer = build<OptimizerFactory>('optimizer', { type: 'SGD', lr: 0.1, momentum: 0.9, weight_decay: 5e-4 })(named);
  const rng = new Random(seed + 1);
  const pixels = Float32Array.from({ length: batchSize * imageSize * imageSize * 3 }, () => rng.normal());
  const labels = Int32Array.from({ length: batchSize }, () => rng.int(10));
  const images = tf.tensor4d(pixels, [batchSize, imageSize, imageSize, 3]);
  const labelTensor = tf.tensor1d(labels, 'int32');
  const batch: TensorBatch = { views: [images], labels: labelTensor, raw: { views: [], indices: new Int32Array(batchSize) } };
  const vars = model.trainableVariables();
  let iter = 0;
  return {
    model,
    async step() {
      seedStep(seed, iter++);
      const { value, grads } = tf.variableGrads(() => model.trainStep(batch, { iter, epoch: 0, maxIters: 1000, itersPerEpoch: 1000 }).loss, vars);
      const loss = (await value.data())[0];
      value.dispose();
      optimizer.step(grads as Record<string, tf.Tensor>, 0.1);
      for (const g of Object.values(grads)) g?.dispose();
      return loss;
    },
    dispose() {
      tf.dispose([images, labelTensor]);
      optimizer.dispose();
      model.dispose();
    },
  };
}
