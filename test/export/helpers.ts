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
import { RunDir } from '../../src/rundir';
import type { Algorithm } from '../../src/models/algorithms/types';
import { build } from '../../src/core/registry';
import type { DataSource, SourceFactory } from '../../src/data/types';
import type { ExportMetadata } from '../../src/export/metadata';
import type { ImageInput } from '../../src/export/predict';
import { loadImage, Preprocessor } from '../../src/export/predict/images';

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

/**
 * Write a run for `yaml` (a config with model and data) into `dir`; returns the model (eval mode).
 * `headScale` multiplies the head's parameters, for outputs as large as an untrained net's can be.
 */
export function makeRun(dir: string, yaml: string, options: { seed?: number; ema?: boolean; headScale?: number } = {}): Algorithm {
  fs.mkdirSync(dir, { recursive: true });
  const cfgFile = path.join(dir, 'source.yaml');
  fs.writeFileSync(cfgFile, yaml);
  const { config } = resolveConfig(cfgFile);
  seedInit(options.seed ?? 1);
  const model = registries.model.build(config.model, {}, 'model') as Algorithm;
  // Non-trivial batch-norm statistics, so that folding them is really tested; norms (and ConvNeXt V2's GRN, which starts as the identity) off their start values.
  let k = 0;
  tf.tidy(() => {
    for (const [name, v] of model.stateDict()) {
      k++;
      if (name.endsWith('running_mean')) v.assign(tf.randomNormal(v.shape, 0, 0.2, 'float32', k));
      else if (name.endsWith('running_var')) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', k));
      else if (/(bn\d?|\.1|norm\d?|grn)\.(weight|bias)$/.test(name)) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.1, 'float32', k)));
      if (options.headScale !== undefined && name.startsWith('head.')) v.assign(tf.mul(v, options.headScale));
    }
  });
  const run = RunDir.create(path.join(dir, 'run'), {
    config: cfgFile,
    config_stem: 'source',
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
  run.close();
  model.eval();
  return model;
}

/** A data section reading the first test images of data/fashion-mnist-sample (28x28 grey). */
export const FASHION_DATA = `
data:
  workers: 0
  val:
    type: ClsDataset
    source: { type: FashionMNIST, root: ${FASHION}, subset: test }
    pipeline: [{ type: ToTensor }, { type: Normalize, mean: [0.286], std: [0.353] }]
`;

/** The first `n` Fashion-MNIST sample test images as grey pixel arrays. */
export async function fashionImages(n: number): Promise<Array<{ data: Uint8Array; width: number; height: number; channels: number }>> {
  const factory = build<SourceFactory>('source', { type: 'FashionMNIST', root: FASHION, subset: 'test' });
  const source: DataSource = await factory.open({ split: 'val', skipCorrupt: false, skip: () => undefined, resolvePath: (p: string) => p });
  const out = [];
  for (let i = 0; i < n; i++) {
    const { image } = await source.item(i);
    if (image.kind !== 'pixels') throw new Error('expected pixels');
    out.push({ data: Uint8Array.from(image.data), width: image.width, height: image.height, channels: 1 });
  }
  return out;
}

/** Run the reference ONNX checker (Debian's python3-onnx); returns '' when the model passes. */
export function onnxCheck(file: string): string {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync('/usr/bin/python3', ['-c', 'import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', file], { encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr.trim().split('\n').slice(-3).join('\n') || `exit ${r.status}`;
}

/** Run an ONNX model on an NHWC batch with onnxruntime-node (the input transposed to its layout). */
export async function runOnnx(file: string, batch: Float32Array, shape: [number, number, number, number], layout: 'NCHW' | 'NHWC'): Promise<Record<string, Float32Array>> {
  const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
  const session = await ort.InferenceSession.create(file);
  try {
    const x = tf.tidy(() => {
      const t = tf.tensor4d(batch, shape);
      return layout === 'NCHW' ? tf.transpose(t, [0, 3, 1, 2]) : t;
    });
    const input = new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape);
    x.dispose();
    const out = await session.run({ [session.inputNames[0]]: input });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

/** The network inputs of `images` the way predictors prepare them (decode + the export's pipeline), as one NHWC batch. */
export async function preparedBatch(meta: ExportMetadata, images: ImageInput[]): Promise<{ data: Float32Array; shape: [number, number, number, number] }> {
  const pre = new Preprocessor(meta);
  const items = [];
  for (const [i, img] of images.entries()) items.push(pre.prepare(await loadImage(img, meta.input.channels, `image ${i}`), `image ${i}`));
  const per = items[0].data.length;
  const data = new Float32Array(items.length * per);
  items.forEach((p, i) => data.set(p.data, i * per));
  return { data, shape: [items.length, items[0].height, items[0].width, meta.input.channels] };
}

/** The toolkit's own logits/features of a batch (eval mode). */
export function toolkitOutputs(model: Algorithm, batch: { data: Float32Array; shape: [number, number, number, number] }): Record<string, Float32Array> {
  return tf.tidy(() => {
    const x = tf.tensor4d(batch.data, batch.shape);
    const out: Record<string, Float32Array> = { features: model.extract(x).dataSync() as Float32Array };
    if (model.predict) out.logits = model.predict(x).dataSync() as Float32Array;
    return out;
  });
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
