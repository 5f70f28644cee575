/**
 * Test runs without training: a run directory (run.json, config.yaml, checkpoints/best) holding a
 * freshly initialised model whose batch-norm statistics and affine parameters are randomised, so
 * that exports are checked with non-trivial normalisation (training would take minutes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { resolveConfig } from '../../src/core/check';
import { registries } from '../../src/core/registry';
import { seedInit } from '../../src/models/nn';
import { saveCheckpoint } from '../../src/train/checkpoint';
import { RunDir } from '../../src/train/runDir';
import type { Algorithm } from '../../src/models/algorithms/types';

export const ROOT = path.resolve(__dirname, '../..');
export const IMAGES = path.join(ROOT, 'data/images-sample');
export const FASHION = path.join(ROOT, 'data/fashion-mnist-sample');

/** Every image file of data/images-sample, sorted. */
export function sampleImages(): string[] {
  return fs
    .readdirSync(IMAGES)
    .flatMap((c) => fs.readdirSync(path.join(IMAGES, c)).map((f) => path.join(IMAGES, c, f)))
    .sort();
}

/** A data section reading data/images-sample (3 classes) at `size` x `size`. */
export function imagesData(size: number, channels = 3): string {
  const grey = channels === 1 ? ', { type: Grayscale }' : '';
  void grey;
  return `
data:
  workers: 0
  val:
    type: ClsDataset
    source: { type: ImageFolder, root: ${IMAGES} }
    pipeline: [{ type: Resize, size: ${size} }, { type: CenterCrop, size: ${size} }, { type: ToTensor }, { type: Normalize, mean: [0.5, 0.45, 0.4], std: [0.25, 0.22, 0.2] }]
`;
}

/** Write a run for `yaml` (a config with model and data) into `dir`; returns the model (eval mode). */
export function makeRun(dir: string, yaml: string, options: { seed?: number; ema?: boolean } = {}): Algorithm {
  fs.mkdirSync(dir, { recursive: true });
  const cfgFile = path.join(dir, 'source.yaml');
  fs.writeFileSync(cfgFile, yaml);
  const { config } = resolveConfig(cfgFile);
  seedInit(options.seed ?? 1);
  const model = registries.model.build(config.model, {}, 'model') as Algorithm;
  // Non-trivial batch-norm statistics, so that folding them is really tested.
  let k = 0;
  tf.tidy(() => {
    for (const [name, v] of model.stateDict()) {
      k++;
      if (name.endsWith('running_mean')) v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', k));
      else if (name.endsWith('running_var')) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', k));
      else if (/(bn\d?|\.1|norm\d?)\.(weight|bias)$/.test(name)) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.1, 'float32', k)));
    }
  });
  const run = RunDir.create(path.join(dir, 'run'), {
    config: cfgFile,
    config_stem: 'source',
    run_id: 'run',
    command: ['test'],
    cvw_version: 'test',
    epoch: 1,
    iter: 1,
    max_iters: 1,
    max_epochs: 1,
  });
  run.writeConfig(config);
  const tensors = new Map<string, tf.Tensor>();
  for (const [name, v] of model.stateDict()) tensors.set(`model.${name}`, v);
  if (options.ema) {
    // An EMA average that differs from the weights: exports must pick it.
    for (const [name, v] of model.stateDict()) tensors.set(`hooks.EMAHook.${name}`, tf.mul(v, 0.5));
  }
  saveCheckpoint(run.checkpointFile('best'), tensors, { iter: 1, epoch: 1, config });
  model.eval();
  return model;
}
