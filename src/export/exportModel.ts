/**
 * `exportModel(runOrCheckpoint, options)`: the Node API behind `cvw export` and the ExportHook.
 *
 * The model is rebuilt from its config, its weights loaded (EMA when present), and one inference
 * forward pass is traced (src/export/trace) into a graph that the ONNX or TF.js writer
 * translates. The export is then run once on random images and compared with the toolkit's own
 * forward pass, so a translation error is caught where it is made, not in production.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/problems';
import { packageVersion } from '../core/packageInfo';
import type { ComponentConfig } from '../core/schema';
import { encodeModel } from '../engine/ort/onnxModel';
import { writeAtomic } from '../rundir/atomic';
import { RUN_FILES, runFile } from '../rundir/files';
import type { Algorithm } from '../models/algorithms/types';
import { traceModel, type TraceGraph } from './trace';
import { toOnnx } from './onnx';
import { appendNms, checkNmsOptions, type NmsOptions } from './onnx/nms';
import { toTfjs, writeTfjs } from './tfjs';
import { readTfjsArtifacts } from './tfjs/load';
import { probeData, type DataInfo } from './dataInfo';
import { METADATA_KEY, type ExportMetadata, type Task } from './metadata';
import { ensureBackend, loadModel, resolveModelSource, type LoadedModel } from './source';
import { requireNative } from '../core/nativeModules';

export type ExportFormat = 'onnx' | 'tfjs';

/**
 * A model that says itself what to export. Models without it export `logits` and `features` when
 * they classify, `features` otherwise. A detector (YOLOX) returns its decoded predictions with
 * fixed shapes — e.g. `boxes [N, anchors, 4]` in input pixels and `scores [N, anchors, classes]` —
 * and sets `exportTask: 'detection'`; the decode is then part of the graph, in both formats.
 * Non-maximum suppression stays outside it (in a Detector predictor): its output size depends on
 * the data, which a traced graph with fixed shapes cannot express.
 */
export interface ExportableModel {
  exportOutputs(images: tf.Tensor4D): Record<string, tf.Tensor>;
  readonly exportTask?: Task;
}

export interface ExportOptions {
  format: ExportFormat;
  /** The .onnx file or the TF.js folder (default: `<run>/export/model.onnx` or `<run>/export/tfjs`). */
  out?: string;
  /** ONNX input layout (TF.js is always NHWC). Default NCHW. */
  layout?: 'NCHW' | 'NHWC';
  /** Put resize and normalisation in the graph: it then takes raw 0-255 pixels of any size. */
  withPreprocess?: boolean;
  /** Network input `[height, width]` when the data cannot tell (its files are absent). */
  inputSize?: [number, number];
  /** 'dynamic' (default) or a fixed batch size. */
  batch?: 'dynamic' | number;
  /** Class names, when the data cannot tell. */
  classes?: string[];
  /** Run the export once and compare with the toolkit (default true). */
  verify?: boolean;
  /** Detectors, ONNX only: append NonMaxSuppression, adding a `detections` [k, 7] output (batch, x1, y1, x2, y2, score, class). */
  nms?: NmsOptions;
  /** Progress messages. */
  log?: (message: string) => void;
}

export interface ExportResult {
  format: ExportFormat;
  /** The .onnx file or the TF.js folder. */
  path: string;
  files: string[];
  metadata: ExportMetadata;
  /** Kernels in the exported graph. */
  kernels: number;
  /** Why the batch size is fixed, when a dynamic one could not be exported. */
  fixedBatchReason?: string;
  /** The export's outputs against the toolkit's on random images (compareOutputs). */
  verified?: OutputComparison & { images: number };
  /** What the data could not tell (input size or classes taken from options or defaults). */
  notes: string[];
}

export interface Outputs {
  task: Task;
  fn: (images: tf.Tensor4D) => Record<string, tf.Tensor>;
  kinds: Record<string, string>;
}

export function modelOutputs(model: Algorithm): Outputs {
  const m = model as Algorithm & Partial<ExportableModel>;
  if (typeof m.exportOutputs === 'function') {
    const fn = (x: tf.Tensor4D) => m.exportOutputs!(x);
    return { task: m.exportTask ?? 'features', fn, kinds: {} };
  }
  if (typeof model.predict === 'function') {
    return { task: 'classification', fn: (x) => ({ logits: model.predict!(x), features: model.extract(x) }), kinds: { logits: 'logits', features: 'features' } };
  }
  return { task: 'features', fn: (x) => ({ features: model.extract(x) }), kinds: { features: 'features' } };
}

/**
 * The normalisation an evaluation pipeline applies, as `(x * scale - mean) / std` per channel, for
 * in-graph pre-processing. Geometric steps are replaced by the graph's own resize.
 */
export function pipelineNormalisation(steps: ComponentConfig[], channels: number): { scale: number; mean: number[]; std: number[] } {
  let scale = 1;
  let mean = new Array<number>(channels).fill(0);
  let std = new Array<number>(channels).fill(1);
  const fit = (v: unknown, what: string): number[] => {
    const a = Array.isArray(v) ? (v as number[]) : [];
    if (a.length === 1) return new Array<number>(channels).fill(a[0]);
    if (a.length !== channels) throw new UserError(`--with-preprocess: Normalize ${what} has ${a.length} values for ${channels} channels`);
    return a;
  };
  for (const s of steps) {
    if (s.type === 'ToTensor') scale /= 255;
    else if (s.type === 'Normalize') {
      // A second Normalize composes: ((x - m1) / s1 - m2) / s2.
      const m2 = fit(s.mean ?? [0.485, 0.456, 0.406], 'mean');
      const s2 = fit(s.std ?? [0.229, 0.224, 0.225], 'std');
      mean = mean.map((m, c) => m + m2[c] * std[c]);
      std = std.map((d, c) => d * s2[c]);
    } else if (!['Resize', 'CenterCrop'].includes(s.type)) {
      throw new UserError(`--with-preprocess: the evaluation pipeline step ${s.type} cannot be put in the graph (only Resize, CenterCrop, ToTensor and Normalize can); export without --with-preprocess`);
    }
  }
  return { scale, mean, std };
}

/** `<run>/export/model.onnx` or `<run>/export/tfjs` (beside the checkpoint when it has no run). */
function defaultOut(runDir: string | undefined, checkpoint: string, format: ExportFormat): string {
  const base = runDir ? runFile(runDir, 'export') : path.join(path.dirname(checkpoint), RUN_FILES.export);
  return format === 'onnx' ? path.join(base, 'model.onnx') : path.join(base, 'tfjs');
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export interface OutputComparison {
  /** Largest |export − toolkit| over every output. */
  maxAbsDiff: number;
  /** Largest |toolkit output|: how large the values compared were. */
  scale: number;
  /** Every output within float32 rounding of its own size (EXPORT_TOLERANCE). */
  matches: boolean;
}

/**
 * The rounding an exported graph may differ by, relative to an output's largest |value|, and never
 * less than 1e-3 (outputs of a few units). Relative, because a net's outputs can reach thousands
 * (an untrained or briefly trained one: logits of 2,600 and features of 13,000 after one SGD step
 * of a narrow ResNet-18), where float32 rounding alone made onnxruntime differ from the toolkit by
 * 6e-3; a fault in the graph differs by a sizeable part of the values.
 */
const EXPORT_TOLERANCE = 1e-4;

export function compareOutputs(actual: Record<string, ArrayLike<number>>, expected: Record<string, ArrayLike<number>>): OutputComparison {
  let maxDiff = 0;
  let scale = 0;
  let matches = true;
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name];
    const diff = got ? maxAbsDiff(got, want) : Infinity;
    const size = maxAbs(want);
    maxDiff = Math.max(maxDiff, diff);
    scale = Math.max(scale, size);
    // Per output: a feature vector in the thousands must not hide an error in logits of a few units.
    if (!(diff <= EXPORT_TOLERANCE * Math.max(10, size))) matches = false;
  }
  return { maxAbsDiff: maxDiff, scale, matches };
}

/** "max |difference| 6.10e-5 (outputs up to 12.3)", and what a mismatch means. */
export function describeComparison(c: OutputComparison): string {
  const text = `max |difference| ${c.maxAbsDiff.toExponential(2)} (outputs up to ${c.scale.toPrecision(3)})`;
  return c.matches ? text : `${text}, more than float32 rounding explains: please report this with the model's config`;
}

async function verifyOnnx(file: string, input: tf.Tensor4D, layout: 'NCHW' | 'NHWC', expected: Record<string, Float32Array>): Promise<OutputComparison> {
  const ort = requireNative('onnxruntime-node', () => require('onnxruntime-node') as typeof import('onnxruntime-node'));
  const session = await ort.InferenceSession.create(file);
  try {
    const x = layout === 'NCHW' ? tf.tidy(() => tf.transpose(input, [0, 3, 1, 2])) : input;
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) };
    if (x !== input) x.dispose();
    const out = await session.run(feeds);
    return compareOutputs(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array])), expected);
  } finally {
    await session.release();
  }
}

async function verifyTfjs(dir: string, input: tf.Tensor4D, expected: Record<string, Float32Array>): Promise<OutputComparison> {
  const { loadGraphModel } = require('@tensorflow/tfjs-converter') as typeof import('@tensorflow/tfjs-converter');
  const model = await loadGraphModel(tf.io.fromMemory(readTfjsArtifacts(dir)));
  try {
    const names = Object.keys(expected);
    const outs = model.execute({ images: input }, names) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(outs) ? outs : [outs];
    const actual = Object.fromEntries(list.map((t, i) => [names[i], t.dataSync() as Float32Array]));
    const comparison = compareOutputs(actual, expected);
    tf.dispose(list);
    return comparison;
  } finally {
    model.dispose();
  }
}

/** What an export (or a predictor running the toolkit's model directly) needs to know about a model. */
export interface ModelPlan {
  outputs: Outputs;
  /** Network input `[height, width]`. */
  size: [number, number];
  channels: number;
  classes?: string[];
  info: DataInfo;
  notes: string[];
}

/** Find the input size, channels, classes and outputs of a loaded model (from its data when it can). */
export async function planModel(loaded: LoadedModel, options: Pick<ExportOptions, 'inputSize' | 'classes'> = {}, data?: DataInfo): Promise<ModelPlan> {
  const { model, source } = loaded;
  const notes: string[] = [];
  const info = data ?? (await probeData(source.config, source.configDir));
  const channels = model.backbone?.inChannels ?? info.channels ?? 3;
  let size = options.inputSize ?? info.imageSize;
  if (!size) {
    const imgSize = (model.backbone as { params?: { img_size?: number } } | undefined)?.params?.img_size;
    if (!imgSize) throw new UserError(`cannot tell the model's input size: ${info.problem ?? 'the data gives none'}; pass --input-size <height>x<width>`);
    size = [imgSize, imgSize];
    notes.push(`input size ${imgSize}x${imgSize} from the backbone's img_size (${info.problem ?? 'no data'})`);
  }
  let classes = options.classes ?? info.classes;
  if (!options.classes && !info.classes && info.problem) notes.push(`no class names: ${info.problem}`);
  const outputs = modelOutputs(model);
  if (outputs.task === 'classification' && classes && model.predict) {
    const k = tf.tidy(() => model.predict!(tf.zeros([1, size![0], size![1], channels]) as tf.Tensor4D).shape[1]);
    if (k !== classes.length) {
      if (options.classes) throw new UserError(`the model has ${k} classes but ${classes.length} class names were given`);
      // The data now at hand is not what the model was trained on: numbers rather than wrong names.
      notes.push(`no class names: the model has ${k} classes but data.${info.split} lists ${classes.length}`);
      classes = undefined;
    }
  }
  return { outputs, size, channels, classes, info, notes };
}

/** The metadata of a model planned for export or direct prediction. */
export function describeModel(loaded: LoadedModel, plan: ModelPlan, extra: { layout: 'NCHW' | 'NHWC'; batch: 'dynamic' | number; inGraph?: { scale: number; mean: number[]; std: number[] }; outputShapes: Record<string, Array<number | string>> }): ExportMetadata {
  const { source } = loaded;
  return {
    format: 'cvw-export',
    version: 1,
    producer: `cv-workbench ${packageVersion()}`,
    created: new Date().toISOString(),
    task: plan.outputs.task,
    model: String((source.config.model as ComponentConfig).type),
    backbone: (source.config.model as { backbone?: ComponentConfig }).backbone?.type,
    outputs: Object.fromEntries(Object.entries(extra.outputShapes).map(([name, shape]) => [name, { kind: plan.outputs.kinds[name] ?? name, shape }])),
    classes: plan.classes,
    input: { name: 'images', layout: extra.layout, height: plan.size[0], width: plan.size[1], channels: plan.channels, batch: extra.batch },
    preprocess: { in_graph: !!extra.inGraph, steps: extra.inGraph ? [] : plan.info.steps, ...(extra.inGraph ?? {}) },
    source: { run: source.runDir, checkpoint: source.checkpoint, weights: loaded.weights, epoch: source.epoch, iter: source.iter },
  };
}

/** Export an already loaded model (the ExportHook uses this with the trainer's model). */
export async function exportLoaded(loaded: LoadedModel, options: ExportOptions, data?: DataInfo): Promise<ExportResult> {
  await ensureBackend();
  const { source } = loaded;
  const log = options.log ?? (() => undefined);
  const plan = await planModel(loaded, options, data);
  const { outputs, size, channels, info, notes } = plan;

  const [h, w] = size;
  const layout = options.format === 'tfjs' ? 'NHWC' : (options.layout ?? 'NCHW');
  let traced: (x: tf.Tensor) => Record<string, tf.Tensor> = (x) => outputs.fn(x as tf.Tensor4D);
  let norm: { scale: number; mean: number[]; std: number[] } | undefined;
  if (options.withPreprocess) {
    norm = pipelineNormalisation(info.steps, channels);
    // The graph's kernels are fixed: it cannot size a crop from each input's own aspect ratio.
    const does = [
      ...(info.steps.some((s) => s.type === 'Resize' && typeof s.size === 'number') ? ['keeps the aspect ratio'] : []),
      ...(info.steps.some((s) => s.type === 'CenterCrop') ? ['crops the centre'] : []),
    ];
    if (does.length) {
      const steps = info.steps.filter((s) => ['Resize', 'CenterCrop'].includes(s.type)).map((s) => `${s.type} ${JSON.stringify(s.size)}`);
      notes.push(
        `--with-preprocess: the graph stretches the whole image to ${h}x${w}, while the evaluation pipeline (${steps.join(', ')}) ${does.join(' and ')}; ` +
          'so its inputs, and its predictions, differ from cvw eval\'s unless images come already cropped to that size. Export without --with-preprocess to run the pipeline before the graph',
      );
    }
    const n = norm;
    traced = (x) => {
      const resized = tf.image.resizeBilinear(x as tf.Tensor4D, [h, w], false, true);
      const normalised = tf.div(tf.sub(tf.mul(resized, n.scale), tf.tensor1d(n.mean)), tf.tensor1d(n.std)) as tf.Tensor4D;
      return outputs.fn(normalised);
    };
  }
  // With pre-processing in the graph the input may have any size: trace from another size than the
  // network's so that nothing downstream depends on the input's own height and width.
  const traceShape: [number, number, number] = options.withPreprocess ? [h + 3, w + 5, channels] : [h, w, channels];
  log(`tracing ${source.config.model && (source.config.model as ComponentConfig).type} at ${h}x${w}x${channels}`);
  const { graph, fixedBatchReason } = traceModel(traced, { imageShape: traceShape, batch: options.batch, dynamicSpatial: !!options.withPreprocess });
  if (fixedBatchReason) notes.push(`the batch size is fixed to 1: ${fixedBatchReason}`);

  const metadata = describeModel(loaded, plan, {
    layout,
    batch: graph.dynamicBatch ? 'dynamic' : (graph.input.shape[0] as number),
    inGraph: norm,
    outputShapes: Object.fromEntries(graph.outputs.map((o) => [o.name, shapeOf(graph, o.name)])),
  });

  const out = path.resolve(options.out ?? defaultOut(source.runDir, source.checkpoint, options.format));
  let files: string[];
  /** The ONNX file as written, moved to `out` once verified. */
  let written: string | undefined;
  if (options.nms) {
    if (outputs.task !== 'detection') throw new UserError(`--nms: only detectors have boxes to suppress; ${metadata.model} is a ${outputs.task} model`);
    if (options.format !== 'onnx') throw new UserError('--nms: in-graph NMS is for ONNX exports; TF.js exports give boxes and scores (the Detector predictor suppresses)');
    checkNmsOptions(options.nms);
    metadata.outputs.detections = { kind: 'detections', shape: ['K', 7] };
  }
  if (options.format === 'onnx') {
    const onnx = toOnnx(graph, { layout, metadata: { [METADATA_KEY]: JSON.stringify(metadata) }, producerVersion: packageVersion(), docString: `${metadata.model} exported by CV Workbench` });
    if (options.nms) appendNms(onnx, options.nms);
    // Beside `out` until it has been verified: an export that fails to run leaves the previous file as it was.
    written = `${out}.unverified-${process.pid}.onnx`;
    writeAtomic(written, [Buffer.from(encodeModel(onnx))]);
    files = [out];
    log(`wrote ${out} (${onnx.nodes.length} nodes, ${fs.statSync(written).size} bytes)`);
  } else {
    files = writeTfjs(out, toTfjs(graph, { producer: metadata.producer, metadata: { [METADATA_KEY]: metadata } }));
    log(`wrote ${out} (${files.length} files)`);
  }

  const result: ExportResult = { format: options.format, path: out, files, metadata, kernels: graph.nodes.length, fixedBatchReason, notes };
  try {
    if (options.verify !== false) await verifyExport();
    if (written) fs.renameSync(written, out);
  } finally {
    if (written) fs.rmSync(written, { force: true });
  }
  return result;

  async function verifyExport(): Promise<void> {
    const n = graph.dynamicBatch ? 4 : (graph.input.shape[0] as number);
    const shape: [number, number, number, number] = options.withPreprocess ? [n, h * 2 + 1, w + 7, channels] : [n, h, w, channels];
    const input = options.withPreprocess ? tf.randomUniform(shape, 0, 255, 'float32', 11) : tf.randomNormal(shape, 0, 1, 'float32', 11);
    try {
      const expected = tf.tidy(() => traced(input));
      const data: Record<string, Float32Array> = {};
      for (const [k, t] of Object.entries(expected)) data[k] = Float32Array.from(t.dataSync() as Float32Array);
      tf.dispose(Object.values(expected));
      const comparison = written ? await verifyOnnx(written, input as tf.Tensor4D, layout, data) : await verifyTfjs(out, input as tf.Tensor4D, data);
      result.verified = { ...comparison, images: n };
      log(`verified on ${n} random images: ${describeComparison(comparison)} from the toolkit's outputs`);
    } finally {
      input.dispose();
    }
  }
}

function shapeOf(g: TraceGraph, name: string): Array<number | string> {
  const o = g.outputs.find((x) => x.name === name)!;
  const v = o.ref.kind === 'value' ? g.values[o.ref.id] : g.consts[o.ref.id];
  return v.shape.map((d) => (typeof d === 'number' ? d : 'N'));
}

/** Export a run directory or checkpoint to ONNX or TF.js. */
export async function exportModel(target: string, options: ExportOptions): Promise<ExportResult> {
  const source = resolveModelSource(target);
  await ensureBackend();
  const loaded = loadModel(source);
  try {
    return await exportLoaded(loaded, options);
  } finally {
    loaded.model.dispose();
  }
}
