/**
 * The predictor base: opens a model (lazily, once), turns inputs into batches the way the run
 * evaluated, runs them, and hands each image's slice of the outputs to the subclass. Subclasses
 * (Classifier, FeatureExtractor, later a Detector) only say which outputs they read and what a
 * result is.
 *
 *   const clf = new Classifier('work_dirs/x/run/export/model.onnx', { topk: 3 });
 *   const [top] = await clf.predict(['cat.jpg']);
 */
import { UserError } from '../../core/problems';
import type { ExportMetadata } from '../metadata';
import { openBackend, type BackendOptions, type InferenceBackend, type OutputTensor } from './backends';
import { describeInput, loadImage, Preprocessor, type ImageInput, type PreparedImage } from './images';

export interface PredictorOptions extends BackendOptions {
  /** Images per forward pass (default 32). */
  batchSize?: number;
  /** Resize images whose pre-processed size differs from the network's (default true); false makes that an error. */
  resize?: boolean;
  /** Images decoded at once (default 8). */
  decodeConcurrency?: number;
}

/** One input's outcome when bad inputs are reported instead of thrown. */
export type Settled<R> = { source: string; result: R; error?: undefined } | { source: string; result?: undefined; error: string };

/** One image's outputs: its row of every output tensor. */
export type ImageOutputs = Record<string, { data: Float32Array | Int32Array; shape: number[] }>;

export abstract class Predictor<R> {
  private backendPromise?: Promise<InferenceBackend>;
  private preprocessor?: Preprocessor;

  constructor(
    /** An .onnx file, an exported TF.js folder, a run directory or a checkpoint. */
    readonly modelPath: string,
    readonly options: PredictorOptions = {},
  ) {
    const b = options.batchSize ?? 32;
    if (!Number.isInteger(b) || b < 1) throw new UserError(`batchSize must be a positive integer, got ${b}`);
  }

  /** The model, opened on first use. */
  protected backend(): Promise<InferenceBackend> {
    this.backendPromise ??= openBackend(this.modelPath, this.options).then((b) => {
      this.check(b);
      this.preprocessor = new Preprocessor(b.metadata, this.options.resize ?? true);
      return b;
    });
    return this.backendPromise;
  }

  /** Where the model runs, and why not on the GPU when one was asked for. */
  async device(): Promise<{ device: 'cpu' | 'gpu'; note?: string }> {
    const b = await this.backend();
    return { device: b.device ?? 'cpu', ...(b.note ? { note: b.note } : {}) };
  }

  /** The export's metadata (class names, input size, pre-processing). */
  async metadata(): Promise<ExportMetadata> {
    return (await this.backend()).metadata;
  }

  /** Refuse a model that lacks what this predictor reads (an error naming the model). */
  protected abstract check(backend: InferenceBackend): void;

  /** The result for one image from its outputs. */
  protected abstract postprocess(outputs: ImageOutputs, image: PreparedImage, meta: ExportMetadata): R;

  /** The output a predictor of this kind reads: by kind in the metadata, then by name, then the first. */
  protected outputFor(backend: InferenceBackend, kind: string): string {
    const meta = backend.metadata;
    return Object.keys(meta.outputs).find((n) => meta.outputs[n].kind === kind) ?? backend.outputNames.find((n) => n === kind) ?? backend.outputNames[0];
  }

  /** Predict one image, or many (in order). A bad input throws an error naming it. */
  predict(image: ImageInput): Promise<R>;
  predict(images: ImageInput[]): Promise<R[]>;
  async predict(images: ImageInput | ImageInput[]): Promise<R | R[]> {
    const list = Array.isArray(images) ? images : [images];
    const settled = await this.run(list, false);
    const results = settled.map((s) => s.result as R);
    return Array.isArray(images) ? results : results[0];
  }

  /**
   * Predict many images, reporting bad ones (undecodable, wrong size) in place instead of
   * stopping: what `cvw predict --skip-bad` prints.
   */
  async predictSettled(images: ImageInput[]): Promise<Array<Settled<R>>> {
    return this.run(images, true);
  }

  private async run(images: ImageInput[], settle: boolean): Promise<Array<Settled<R>>> {
    const backend = await this.backend();
    const meta = backend.metadata;
    const pre = this.preprocessor!;
    const out: Array<Settled<R>> = images.map((img, i) => ({ source: describeInput(img, i), error: 'not run' }));
    const batchSize = this.options.batchSize ?? 32;
    const fixed = typeof meta.input.batch === 'number' ? meta.input.batch : undefined;
    const concurrency = Math.max(1, this.options.decodeConcurrency ?? 8);

    for (let start = 0; start < images.length; start += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, images.length - start) }, (_, k) => start + k);
      const prepared = new Map<number, PreparedImage>();
      for (let k = 0; k < idx.length; k += concurrency) {
        await Promise.all(
          idx.slice(k, k + concurrency).map(async (i) => {
            const where = out[i].source;
            try {
              prepared.set(i, pre.prepare(await loadImage(images[i], meta.input.channels, where), where));
            } catch (err) {
              if (!settle || !(err instanceof UserError)) throw err;
              out[i] = { source: where, error: (err as Error).message };
            }
          }),
        );
      }
      // Same-sized images go together (they all are, unless pre-processing is in the graph).
      const groups = new Map<string, number[]>();
      for (const i of idx) {
        const p = prepared.get(i);
        if (!p) continue;
        const key = `${p.height}x${p.width}`;
        groups.set(key, [...(groups.get(key) ?? []), i]);
      }
      for (const members of groups.values()) {
        for (let g = 0; g < members.length; g += fixed ?? members.length) {
          const chunk = members.slice(g, g + (fixed ?? members.length));
          const first = prepared.get(chunk[0])!;
          const n = fixed ?? chunk.length;
          const per = first.data.length;
          const batch = new Float32Array(n * per);
          chunk.forEach((i, k) => batch.set(prepared.get(i)!.data, k * per));
          const outputs = await backend.run(batch, [n, first.height, first.width, meta.input.channels]);
          chunk.forEach((i, k) => {
            out[i] = { source: out[i].source, result: this.postprocess(sliceOutputs(outputs, k), prepared.get(i)!, meta) };
          });
        }
      }
    }
    return out;
  }

  /** Release the model. */
  async dispose(): Promise<void> {
    if (this.backendPromise) await (await this.backendPromise).dispose();
    this.backendPromise = undefined;
  }
}

/** Row `k` of every output (outputs whose first dimension is the batch). */
function sliceOutputs(outputs: Record<string, OutputTensor>, k: number): ImageOutputs {
  const result: ImageOutputs = {};
  for (const [name, t] of Object.entries(outputs)) {
    const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
    result[name] = { data: t.data.subarray(k * per, (k + 1) * per), shape: t.shape.slice(1) };
  }
  return result;
}
