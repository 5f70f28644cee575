/**
 * Where a predictor's network runs: onnxruntime-node for `.onnx` files (native, multi-threaded),
 * TensorFlow.js (wasm backend) for exported TF.js folders, and the toolkit's own model for run
 * directories and checkpoints. All take an NHWC float batch and return named outputs; all know
 * the export metadata (class names, input size, pre-processing).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/problems';
import { isRunDir, RUN_FILES } from '../../rundir';
import { METADATA_KEY, parseMetadata, type ExportMetadata } from '../metadata';
import { readOnnxModelInfo } from '../onnx/readModel';
import { readTfjsArtifacts } from '../tfjs/load';
import { ensureBackend, loadModel, resolveModelSource } from '../source';
import { describeModel, planModel } from '../exportModel';
import { requireNative } from '../../core/nativeModules';
import { readRegularFile } from '../../core/boundedRead';
import { cpuLimit } from '../../core/cpuLimit';
import { MAX_THREADS } from '../../engine/configSection';

export interface OutputTensor {
  data: Float32Array | Int32Array;
  shape: number[];
}

export interface InferenceBackend {
  readonly kind: 'onnxruntime' | 'tfjs' | 'toolkit';
  /** The model file or folder. */
  readonly path: string;
  readonly metadata: ExportMetadata;
  /** Names of the outputs, in the model's order. */
  readonly outputNames: string[];
  /** Where it runs (undefined: the CPU). */
  readonly device?: 'cpu' | 'gpu';
  /** Why it is not where `device` asked (a GPU asked for, the CPU used). */
  readonly note?: string;
  /** Run a batch (NHWC, float). */
  run(batch: Float32Array, shape: [number, number, number, number]): Promise<Record<string, OutputTensor>>;
  dispose(): Promise<void>;
}

export interface BackendOptions {
  /** Threads of onnxruntime's pool (default: one per core). */
  threads?: number;
  /**
   * gpu: onnxruntime's WebGPU execution provider (ONNX models), falling back to the CPU with a
   * `note` when it cannot start (no adapter) or the model is not ONNX. Default cpu.
   */
  device?: 'cpu' | 'gpu';
}

const MODEL_KINDS = 'an .onnx file, an exported TF.js folder (model.json), a run directory or a .safetensors checkpoint';

/** What kind of model a path holds, from its name and first bytes. */
export function modelKind(target: string): 'onnx' | 'tfjs' | 'toolkit' {
  if (!fs.existsSync(target)) throw new UserError(`${target}: no such model file or folder (expected ${MODEL_KINDS})`);
  if (fs.statSync(target).isDirectory()) {
    if (fs.existsSync(path.join(target, 'model.json'))) return 'tfjs';
    if (isRunDir(target)) return 'toolkit';
    if (fs.existsSync(path.join(target, 'model.onnx'))) throw new UserError(`${target}: a folder; the model is probably ${path.join(target, 'model.onnx')}`);
    throw new UserError(`${target}: not a model folder (no model.json or ${RUN_FILES.run}); expected ${MODEL_KINDS}`);
  }
  if (/\.onnx$/i.test(target)) return 'onnx';
  if (/\.safetensors$/i.test(target)) return 'toolkit';
  if (path.basename(target) === 'model.json') return 'tfjs';
  throw new UserError(`${target}: not a model (expected ${MODEL_KINDS})`);
}

/** Metadata for an ONNX model this toolkit did not export: taken from its input's shape. */
function foreignOnnxMetadata(file: string, input: { name: string; shape: ReadonlyArray<number | string> }, outputs: string[]): ExportMetadata {
  const dims = input.shape;
  if (dims.length !== 4) throw new UserError(`${file}: the model's input "${input.name}" has rank ${dims.length}; a batch of images (rank 4) is expected`);
  const channelsFirst = typeof dims[1] === 'number' && (dims[1] === 1 || dims[1] === 3) && !(dims[3] === 1 || dims[3] === 3);
  const [h, w, c] = channelsFirst ? [dims[2], dims[3], dims[1]] : [dims[1], dims[2], dims[3]];
  if (typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number') {
    throw new UserError(`${file}: the input "${input.name}" has no fixed height, width and channels (${JSON.stringify(dims)}); export it with a fixed size`);
  }
  return {
    format: 'cvw-export',
    version: 1,
    producer: 'unknown',
    created: '',
    task: 'classification',
    model: 'unknown',
    outputs: Object.fromEntries(outputs.map((o) => [o, { kind: o, shape: [] }])),
    input: { name: input.name, layout: channelsFirst ? 'NCHW' : 'NHWC', height: h, width: w, channels: c, batch: typeof dims[0] === 'number' ? dims[0] : 'dynamic' },
    // No pre-processing is known: pixels scaled to 0-1, the most common convention.
    preprocess: { in_graph: false, steps: [{ type: 'ToTensor' }] },
  };
}

class OrtBackend implements InferenceBackend {
  readonly kind = 'onnxruntime' as const;

  private constructor(
    readonly path: string,
    readonly metadata: ExportMetadata,
    readonly outputNames: string[],
    private readonly session: import('onnxruntime-node').InferenceSession,
    private readonly ort: typeof import('onnxruntime-node'),
    readonly device: 'cpu' | 'gpu',
    readonly note?: string,
  ) {}

  static async open(file: string, options: BackendOptions): Promise<OrtBackend> {
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1 && options.threads <= MAX_THREADS)) {
      throw new UserError(`threads: expected a whole number from 1 to ${MAX_THREADS}, got ${options.threads}`);
    }
    const bytes = readRegularFile(file, { what: 'model' });
    const info = readOnnxModelInfo(bytes, file);
    const ort = requireNative('onnxruntime-node', () => require('onnxruntime-node') as typeof import('onnxruntime-node'));
    let session: import('onnxruntime-node').InferenceSession | undefined;
    const sessionOptions: import('onnxruntime-node').InferenceSession.SessionOptions = {
      intraOpNumThreads: options.threads ?? cpuLimit().cores,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    };
    let note: string | undefined;
    if (options.device === 'gpu') {
      try {
        // onnxruntime-node 1.30 on Linux carries a WebGPU provider (Dawn); ops it lacks go to the CPU one.
        session = await ort.InferenceSession.create(bytes, { ...sessionOptions, executionProviders: ['webgpu', 'cpu'] });
      } catch (err) {
        note = `GPU inference unavailable (onnxruntime's WebGPU provider: ${conciseOrtError(err)}); running on the CPU`;
      }
    }
    const device = session ? 'gpu' : 'cpu';
    try {
      session ??= await ort.InferenceSession.create(bytes, sessionOptions);
    } catch (err) {
      throw new UserError(`${file}: onnxruntime cannot load the model (${(err as Error).message.split('\n')[0]})`);
    }
    if (session.outputNames.includes('__proto__')) {
      // onnxruntime-node asks for outputs by the keys of an object, where this name is no key: its run then fails with "At least one output should be requested".
      await session.release();
      throw new UserError(`${file}: the model has an output named "__proto__", which onnxruntime-node cannot return; rename that output where the model is exported`);
    }
    const input = session.inputMetadata[0] as { name: string; shape?: ReadonlyArray<number | string> };
    const meta = info.metadata[METADATA_KEY]
      ? parseMetadata(info.metadata[METADATA_KEY], file)
      : foreignOnnxMetadata(file, { name: input.name, shape: input.shape ?? [] }, [...session.outputNames]);
    return new OrtBackend(file, meta, [...session.outputNames], session, ort, device, note);
  }

  async run(batch: Float32Array, shape: [number, number, number, number]): Promise<Record<string, OutputTensor>> {
    let data = batch;
    let dims: number[] = shape;
    if (this.metadata.input.layout === 'NCHW') {
      // NHWC -> NCHW on the way in (one pass, cheaper than a graph Transpose for small batches).
      const [n, h, w, c] = shape;
      data = new Float32Array(batch.length);
      const plane = h * w;
      for (let b = 0; b < n; b++) {
        const base = b * plane * c;
        for (let p = 0; p < plane; p++) for (let k = 0; k < c; k++) data[base + k * plane + p] = batch[base + p * c + k];
      }
      dims = [n, c, h, w];
    }
    const feeds = { [this.metadata.input.name]: new this.ort.Tensor('float32', data, dims) };
    const out = await this.session.run(feeds);
    const result: Record<string, OutputTensor> = {};
    for (const [name, t] of Object.entries(out)) {
      const d = t.data;
      result[name] = { data: d instanceof BigInt64Array ? Int32Array.from(d, Number) : (d as Float32Array | Int32Array), shape: [...t.dims] };
    }
    return result;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

class TfjsBackend implements InferenceBackend {
  readonly kind = 'tfjs' as const;

  private constructor(
    readonly path: string,
    readonly metadata: ExportMetadata,
    readonly outputNames: string[],
    private readonly model: import('@tensorflow/tfjs-converter').GraphModel,
  ) {}

  static async open(target: string): Promise<TfjsBackend> {
    await ensureBackend();
    const artifacts = readTfjsArtifacts(target);
    const raw = (artifacts.userDefinedMetadata as Record<string, unknown> | undefined)?.[METADATA_KEY];
    if (!raw) throw new UserError(`${target}: a TF.js model without CV Workbench metadata; predictors need a model exported by \`cvw export\``);
    const meta = parseMetadata(raw, target);
    const { loadGraphModel } = require('@tensorflow/tfjs-converter') as typeof import('@tensorflow/tfjs-converter');
    let model: import('@tensorflow/tfjs-converter').GraphModel;
    try {
      model = await loadGraphModel(tf.io.fromMemory(artifacts));
    } catch (err) {
      throw new UserError(`${target}: TF.js cannot load the model (${(err as Error).message})`);
    }
    return new TfjsBackend(target, meta, Object.keys(meta.outputs), model);
  }

  async run(batch: Float32Array, shape: [number, number, number, number]): Promise<Record<string, OutputTensor>> {
    const x = tf.tensor4d(batch, shape);
    try {
      const outs = this.model.execute({ [this.metadata.input.name]: x }, this.outputNames);
      const list = Array.isArray(outs) ? outs : [outs];
      const result: Record<string, OutputTensor> = {};
      for (const [i, t] of list.entries()) result[this.outputNames[i]] = { data: (await t.data()) as Float32Array | Int32Array, shape: t.shape };
      tf.dispose(list);
      return result;
    } finally {
      x.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}

/** The toolkit's own model (a run or checkpoint), run by TensorFlow.js. */
class ToolkitBackend implements InferenceBackend {
  readonly kind = 'toolkit' as const;

  private constructor(
    readonly path: string,
    readonly metadata: ExportMetadata,
    readonly outputNames: string[],
    private readonly fn: (x: tf.Tensor4D) => Record<string, tf.Tensor>,
    private readonly release: () => void,
  ) {}

  static async open(target: string): Promise<ToolkitBackend> {
    const source = resolveModelSource(target);
    await ensureBackend();
    const loaded = loadModel(source);
    try {
      const plan = await planModel(loaded);
      const shapes = tf.tidy(() => {
        const out = plan.outputs.fn(tf.zeros([1, plan.size[0], plan.size[1], plan.channels]) as tf.Tensor4D);
        return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, ['N', ...t.shape.slice(1)] as Array<number | string>]));
      });
      const meta = describeModel(loaded, plan, { layout: 'NHWC', batch: 'dynamic', outputShapes: shapes });
      return new ToolkitBackend(target, meta, Object.keys(shapes), plan.outputs.fn, () => loaded.model.dispose());
    } catch (err) {
      loaded.model.dispose();
      throw err;
    }
  }

  async run(batch: Float32Array, shape: [number, number, number, number]): Promise<Record<string, OutputTensor>> {
    const outs = tf.tidy(() => this.fn(tf.tensor4d(batch, shape)));
    const result: Record<string, OutputTensor> = {};
    for (const [k, t] of Object.entries(outs)) result[k] = { data: (await t.data()) as Float32Array | Int32Array, shape: t.shape };
    tf.dispose(Object.values(outs));
    return result;
  }

  async dispose(): Promise<void> {
    this.release();
  }
}

/** Open a model: .onnx on onnxruntime-node, TF.js folders on TF.js, runs and checkpoints on the toolkit's model. */
export async function openBackend(target: string, options: BackendOptions = {}): Promise<InferenceBackend> {
  const kind = modelKind(target);
  if (kind === 'onnx') return OrtBackend.open(target, options);
  const backend = kind === 'tfjs' ? await TfjsBackend.open(target) : await ToolkitBackend.open(target);
  if (options.device !== 'gpu') return backend;
  const note = `GPU inference runs ONNX models (onnxruntime's WebGPU provider); ${target} is ${kind === 'tfjs' ? 'a TF.js graph model' : 'a checkpoint'}, run on the CPU — export it with \`cvw export\` for the GPU`;
  return Object.assign(backend, { device: 'cpu' as const, note });
}

/** The line that says why onnxruntime failed, without its source path prefix. */
function conciseOrtError(err: unknown): string {
  const line = (err as Error).message.split('\n')[0];
  return line.replace(/^.*?(\S+\.cc:\d+ )/, '').replace(/^.*? was false\. /, '');
}
