/**
 * The benchmark tools behind `cvw benchmark knn|linear` and `cvw extract`: take a run directory
 * (its best, else latest checkpoint) or a checkpoint file, rebuild its model, compute frozen
 * features of a labelled training set (kNN memory bank / probe training set) and a test set, and
 * measure them. Results go into the run: `benchmarks/<name>.json` (read by the editor's benchmark
 * panel) and one line in metrics.jsonl (`split: "benchmark"`).
 *
 * Which data: `--data <config>` names a config whose `data.train` and `data.val` are used (see
 * configs/benchmarks/); otherwise the run's own config: its `data.val` as the test set, and
 * `data.train`'s source read through `data.val`'s (deterministic) pipeline as the training set.
 * Features are cached in `benchmarks/features/`, keyed by checkpoint and dataset, so kNN and the
 * linear probe of one checkpoint extract once.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { resolveConfig } from '../core/check';
import type { Override } from '../core/config/overrides';
import { registries } from '../core/registry';
import { UserError } from '../core/problems';
import { isPlainObject, type ComponentConfig } from '../core/schema';
import type { EngineConfig } from '../engine/configSection';
import { buildModel } from '../models/buildModel';
import type { Algorithm } from '../models/algorithms/types';
import { loadCheckpoint, disposeCheckpoint, withPrefix } from '../train/checkpoint';
import { disposeTensors, openLoader, toTensors, type TrainLoader } from '../train/dataBridge';
import * as tf from '@tensorflow/tfjs-core';
import { appendMetrics, isRunDir, resolveCheckpoint, RUN_FILES, runDirOfCheckpoint, runFile, writeAtomic } from '../rundir';
import type { DatasetPlan } from '../data/datasets';
import { pathResolver } from '../data/loader';
import { initEngine } from '../engine';
import { collectPredictions } from './predict';
import type { Predictions } from './evaluator';
import { readNpy, writeNpy } from './npy';
import { classCount, perClassAccuracy, topkAccuracy, weightedKnn } from './knn';
import { LINEAR_PROBE_DEFAULTS, probeScores, trainLinearProbe, type LinearProbeOptions } from './linearProbe';
import { useGridFeatures } from './featureGrid';
import { makeDirs } from '../core/makeDirs';

export interface BenchmarkOptions {
  /** A config whose data.train and data.val are the training and test sets (instead of the run's). */
  data?: string;
  /** Dotted-key overrides of the data config (`data.train.source.root`, `data.val.batch_size`). */
  overrides?: Override[];
  engine?: Partial<EngineConfig>;
  /** Use the checkpoint's raw weights even when it holds EMA weights. */
  noEma?: boolean;
  /** Where results go (default: <run>/benchmarks, or benchmarks/ beside a loose checkpoint). */
  outDir?: string;
  /** Recompute features even when cached. */
  noCache?: boolean;
  /** Use only the first N images of the training set (quick or slow-encoder benchmarks). */
  trainLimit?: number;
  /** Use only the first N images of the test set. */
  testLimit?: number;
  /** Features: the last stage average-pooled to a pool x pool grid (1, the default: global average pool). */
  pool?: number;
  log?: (message: string) => void;
}

/** One split's features with their labels and dataset indices. */
export interface FeatureSet {
  features: Float32Array;
  labels: Int32Array;
  indices: Int32Array;
  dim: number;
  count: number;
  classes?: string[];
  /** Seconds spent extracting (0 when cached). */
  seconds: number;
}

/** What a benchmark runs on: the model with its weights, the data, and where results go. */
export interface BenchmarkContext {
  model: Algorithm;
  checkpoint: string;
  runDir?: string;
  outDir: string;
  /** Progress of the checkpoint (for the metrics line). */
  iter: number;
  epoch: number;
  weights: 'ema' | 'raw';
  data: Record<string, unknown>;
  datasets: { train: ComponentConfig; val: ComponentConfig };
  seed: number;
  configDir: string;
  /** Images used per set (undefined: all). */
  limits: { train?: number; val?: number };
  /** Grid the last feature map is pooled to (1: global average pool). */
  pool: number;
  log: (message: string) => void;
}

/** Rebuild the model of a run or checkpoint with its weights, and pick the benchmark data. */
export async function openBenchmark(source: string, options: BenchmarkOptions = {}): Promise<BenchmarkContext> {
  const log = options.log ?? (() => undefined);
  if (!fs.existsSync(source)) throw new UserError(`${source}: no such run directory or checkpoint`);
  // As cvw eval and export: a folder without run.json is no run (its files would go where no run reads them).
  if (fs.statSync(source).isDirectory() && !isRunDir(source)) throw new UserError(`${source}: not a run directory (no ${RUN_FILES.run}); give a run directory or a checkpoint file`);
  const checkpoint = path.resolve(resolveCheckpoint(source));
  const runDir = isRunDir(source) ? path.resolve(source) : runDirOfCheckpoint(checkpoint);
  let modelConfigFile = runDir ? runFile(runDir, 'config') : undefined;
  // The engine before the checkpoint: its tensors are made on it.
  const runEngine = modelConfigFile ? (resolveConfig(modelConfigFile).config.engine as EngineConfig) : {};
  const engine = await initEngine({ ...runEngine, ...options.engine });
  for (const line of `engine: ${engine.summary}`.split('\n')) log(line);
  const ckpt = loadCheckpoint(checkpoint);
  let tmp: string | undefined;
  try {
    const meta = ckpt.meta as { iter?: number; epoch?: number; config?: Record<string, unknown> };
    // The model's config: the run's resolved config.yaml, else the copy inside the checkpoint.
    if (!modelConfigFile) {
      if (!meta.config) throw new UserError(`${checkpoint} holds no config and is not inside a run directory: benchmark the run directory instead`);
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-bench-'));
      modelConfigFile = path.join(tmp, 'config.yaml');
      fs.writeFileSync(modelConfigFile, stringify(meta.config));
    }
    const dataFile = options.data ?? modelConfigFile;
    const { config } = resolveConfig(modelConfigFile, { overrides: options.data ? [] : options.overrides });
    const dataConfig = options.data ? resolveConfig(options.data, { overrides: options.overrides }).config : config;
    if (!isPlainObject(config.model)) throw new UserError(`${modelConfigFile} has no model`);
    const model = buildModel(config.model, { purpose: 'load', seed: config.seed as number });
    const pool = options.pool ?? 1;
    if (!(Number.isInteger(pool) && pool >= 1)) throw new UserError(`pool must be a positive integer, got ${pool}`);
    if (pool > 1) useGridFeatures(model, pool, (config.model as ComponentConfig).type);
    const ema = withPrefix(ckpt.tensors, 'hooks.EMAHook.');
    const weights = ema.size && !options.noEma ? 'ema' : 'raw';
    const { missing } = model.loadStateDict(weights === 'ema' ? ema : withPrefix(ckpt.tensors, 'model.'));
    if (missing.length) throw new UserError(`${checkpoint} does not fit the model of its config: missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
    const data = (dataConfig.data ?? {}) as Record<string, unknown>;
    const datasets = benchmarkDatasets(data, dataFile, !!options.data);
    const outDir = path.resolve(options.outDir ?? (runDir ? runFile(runDir, 'benchmarks') : path.join(path.dirname(checkpoint), RUN_FILES.benchmarks)));
    log(`model ${(config.model as ComponentConfig).type} from ${checkpoint} (${weights} weights, iteration ${meta.iter ?? '?'})`);
    return {
      model,
      checkpoint,
      runDir,
      outDir,
      iter: meta.iter ?? 0,
      epoch: meta.epoch ?? 0,
      weights,
      data,
      datasets,
      seed: (dataConfig.seed as number) ?? 0,
      configDir: path.dirname(path.resolve(dataFile)),
      limits: { train: options.trainLimit, val: options.testLimit },
      pool,
      log,
    };
  } finally {
    disposeCheckpoint(ckpt);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The training and test sets: a benchmark config's data.train and data.val as they are; a run's
 * config: data.val, and data.train's source through data.val's pipeline (no augmentation).
 */
export function benchmarkDatasets(data: Record<string, unknown>, file: string, explicit: boolean): { train: ComponentConfig; val: ComponentConfig } {
  const train = data.train as ComponentConfig | undefined;
  const val = data.val as ComponentConfig | undefined;
  if (!val || !train) {
    throw new UserError(
      `${file} has no data.${val ? 'train' : 'val'}: the benchmark needs a labelled training set and test set — pass --data configs/benchmarks/fashion_mnist.yaml (or a config of your own with data.train and data.val)`,
    );
  }
  const noShuffle = { shuffle: false, drop_last: false };
  if (explicit) return { train: { ...train, ...noShuffle }, val: { ...val, ...noShuffle } };
  if (!isPlainObject(train.source)) throw new UserError(`${file}: data.train has no source`);
  return {
    train: { type: 'ClsDataset', source: train.source, pipeline: (val.pipeline as unknown[]) ?? [], batch_size: (val.batch_size as number) ?? 256, ...noShuffle },
    val: { ...val, ...noShuffle },
  };
}

function cacheKey(ctx: BenchmarkContext, dataset: ComponentConfig, limit?: number): string {
  const st = fs.statSync(ctx.checkpoint);
  const h = crypto.createHash('sha256').update(JSON.stringify({ ckpt: ctx.checkpoint, size: st.size, mtime: st.mtimeMs, weights: ctx.weights, dataset, limit, pool: ctx.pool })).digest('hex');
  return h.slice(0, 16);
}

/** Features of the training (`train`) or test (`val`) set, from the cache when present. */
export async function featuresOf(ctx: BenchmarkContext, split: 'train' | 'val', options: { noCache?: boolean } = {}): Promise<FeatureSet> {
  const dataset = ctx.datasets[split];
  const dir = path.join(ctx.outDir, 'features');
  const key = cacheKey(ctx, dataset, ctx.limits[split]);
  const npy = path.join(dir, `${split}-${key}.npy`);
  const index = path.join(dir, `${split}-${key}.json`);
  if (!options.noCache && fs.existsSync(npy) && fs.existsSync(index)) {
    const f = readNpy(npy);
    const info = JSON.parse(fs.readFileSync(index, 'utf8')) as { labels: number[]; indices: number[]; classes?: string[] };
    ctx.log(`${split}: ${f.shape[0]} cached features (${path.relative(process.cwd(), npy)})`);
    return { features: f.data as Float32Array, labels: Int32Array.from(info.labels), indices: Int32Array.from(info.indices), dim: f.shape[1], count: f.shape[0], classes: info.classes, seconds: 0 };
  }
  const started = Date.now();
  const p = await predictionsOf(ctx, split);
  const set = toFeatureSet(p, split, (Date.now() - started) / 1000);
  ctx.log(`${split}: ${set.count} features of width ${set.dim} in ${set.seconds.toFixed(1)} s`);
  if (!options.noCache) {
    writeNpy(npy, set.features, [set.count, set.dim]);
    writeAtomic(index, [JSON.stringify({ checkpoint: ctx.checkpoint, dataset, labels: Array.from(set.labels), indices: Array.from(set.indices), classes: set.classes })]);
  }
  return set;
}

async function predictionsOf(ctx: BenchmarkContext, split: 'train' | 'val'): Promise<Predictions> {
  const loader = await openLoader({ dataset: ctx.datasets[split], data: ctx.data, split, seed: ctx.seed, configDir: ctx.configDir });
  try {
    const limit = ctx.limits[split];
    return limit === undefined ? await collectPredictions(ctx.model, loader, new Set(['features'])) : await firstFeatures(ctx.model, loader, limit);
  } finally {
    await loader.close();
  }
}

/** Features of the first `limit` samples (the set is read in order), in eval mode. */
async function firstFeatures(model: Algorithm, loader: TrainLoader, limit: number): Promise<Predictions> {
  const wasTraining = model.training;
  model.eval();
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  const indices: number[] = [];
  let dim = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const take = Math.min(batch.indices.length, limit - indices.length);
      const t = toTensors(batch);
      try {
        const f = tf.tidy(() => model.extract(t.views[0]));
        dim = f.shape[1];
        rows.push((f.dataSync() as Float32Array).slice(0, take * dim));
        f.dispose();
      } finally {
        disposeTensors(t);
      }
      indices.push(...batch.indices.subarray(0, take));
      if (batch.labels) labels.push(...batch.labels.subarray(0, take));
      if (indices.length >= limit) break;
    }
  } finally {
    model.train(wasTraining);
  }
  const features = new Float32Array(indices.length * dim);
  let at = 0;
  for (const r of rows) {
    features.set(r, at);
    at += r.length;
  }
  return { count: indices.length, features, dim, labels: labels.length === indices.length ? Int32Array.from(labels) : undefined, indices: Int32Array.from(indices), classes: loader.classes };
}

function toFeatureSet(p: Predictions, split: string, seconds: number): FeatureSet {
  if (!p.features || !p.dim) throw new UserError(`${split}: the model gave no features`);
  return { features: p.features, labels: p.labels ?? new Int32Array(p.count).fill(-1), indices: p.indices, dim: p.dim, count: p.count, classes: p.classes, seconds };
}

function requireLabels(set: FeatureSet, split: string): number {
  if (set.labels.some((l) => l < 0)) throw new UserError(`the ${split === 'train' ? 'training' : 'test'} set is not labelled: the benchmark needs labels (a source with classes)`);
  return classCount(set.labels, set.classes);
}

/** `knn`, `linear`; `knn_pool2`, ... for grid-pooled features, so the two sit side by side. */
function resultName(ctx: BenchmarkContext, benchmark: string): string {
  return ctx.pool > 1 ? `${benchmark}_pool${ctx.pool}` : benchmark;
}

/** The common part of a benchmark result file. */
function resultHeader(ctx: BenchmarkContext, benchmark: string, train: FeatureSet, test: FeatureSet) {
  return {
    benchmark: resultName(ctx, benchmark),
    checkpoint: ctx.checkpoint,
    run: ctx.runDir,
    iter: ctx.iter,
    epoch: ctx.epoch,
    weights: ctx.weights,
    feature_dim: train.dim,
    pool: ctx.pool,
    train: { count: train.count, limit: ctx.limits.train, dataset: ctx.datasets.train },
    test: { count: test.count, limit: ctx.limits.val, dataset: ctx.datasets.val },
    classes: test.classes ?? train.classes,
    time: new Date().toISOString(),
  };
}

function writeResults(ctx: BenchmarkContext, name: string, result: Record<string, unknown>, metrics: Record<string, number>): string {
  name = resultName(ctx, name);
  const file = path.join(ctx.outDir, `${name}.json`);
  writeAtomic(file, [JSON.stringify(result, null, 2) + '\n']);
  if (ctx.runDir) {
    const line = { time: Date.now() / 1000, epoch: ctx.epoch + 1, iter: ctx.iter, split: 'benchmark', benchmark: name, ...metrics };
    appendMetrics(ctx.runDir, line);
  }
  return file;
}

export interface KnnBenchmarkOptions extends BenchmarkOptions {
  k?: number;
  temperature?: number;
}

export interface BenchmarkResult {
  file: string;
  metrics: Record<string, number>;
  result: Record<string, unknown>;
}

/** Weighted kNN (k = 200, T = 0.1 by default): training features as the memory bank, test features as queries. */
export async function benchmarkKnn(source: string, options: KnnBenchmarkOptions = {}): Promise<BenchmarkResult> {
  const ctx = await openBenchmark(source, options);
  try {
    const k = options.k ?? 200;
    const temperature = options.temperature ?? 0.1;
    const train = await featuresOf(ctx, 'train', options);
    const test = await featuresOf(ctx, 'val', options);
    const classes = requireLabels(train, 'train');
    requireLabels(test, 'val');
    const started = Date.now();
    const { scores } = weightedKnn(train.features, train.labels, test.features, train.dim, classes, { k, temperature });
    const acc = topkAccuracy(scores, test.labels, classes, [1, 5].filter((x) => x <= classes));
    const metrics: Record<string, number> = Object.fromEntries(Object.entries(acc).map(([kk, v]) => [`knn_top${kk}`, v]));
    const result = {
      ...resultHeader(ctx, 'knn', train, test),
      k,
      temperature,
      metrics,
      per_class_accuracy: perClassAccuracy(scores, test.labels, classes),
      seconds: { extract_train: train.seconds, extract_test: test.seconds, knn: (Date.now() - started) / 1000 },
    };
    const file = writeResults(ctx, 'knn', result, metrics);
    return { file, metrics, result };
  } finally {
    ctx.model.dispose();
  }
}

export interface LinearBenchmarkOptions extends BenchmarkOptions, Partial<Omit<LinearProbeOptions, 'onEpoch'>> {}

/** A linear classifier trained on frozen training features, measured on the test features. */
export async function benchmarkLinear(source: string, options: LinearBenchmarkOptions = {}): Promise<BenchmarkResult> {
  const ctx = await openBenchmark(source, options);
  try {
    const o = {
      epochs: options.epochs ?? LINEAR_PROBE_DEFAULTS.epochs,
      batchSize: options.batchSize ?? LINEAR_PROBE_DEFAULTS.batchSize,
      lr: options.lr ?? LINEAR_PROBE_DEFAULTS.lr,
      weightDecay: options.weightDecay ?? LINEAR_PROBE_DEFAULTS.weightDecay,
      seed: options.seed ?? LINEAR_PROBE_DEFAULTS.seed,
    };
    const train = await featuresOf(ctx, 'train', options);
    const test = await featuresOf(ctx, 'val', options);
    const classes = requireLabels(train, 'train');
    requireLabels(test, 'val');
    const started = Date.now();
    const probe = trainLinearProbe(train.features, train.labels, train.dim, classes, {
      ...o,
      onEpoch: (e) => {
        if (e.epoch === 1 || e.epoch % 10 === 0 || e.epoch === o.epochs) ctx.log(`linear probe epoch ${e.epoch}/${o.epochs}: loss ${e.loss.toFixed(4)}, train accuracy ${e.trainAccuracy.toFixed(4)}`);
      },
    });
    const scores = probeScores(probe, test.features);
    const acc = topkAccuracy(scores, test.labels, classes, [1, 5].filter((x) => x <= classes));
    const metrics: Record<string, number> = Object.fromEntries(Object.entries(acc).map(([kk, v]) => [`linear_top${kk}`, v]));
    const result = {
      ...resultHeader(ctx, 'linear', train, test),
      epochs: o.epochs,
      batch_size: o.batchSize,
      lr: o.lr,
      weight_decay: o.weightDecay,
      seed: o.seed,
      metrics,
      per_class_accuracy: perClassAccuracy(scores, test.labels, classes),
      history: probe.history,
      seconds: { extract_train: train.seconds, extract_test: test.seconds, train_probe: (Date.now() - started) / 1000 },
    };
    const file = writeResults(ctx, 'linear', result, metrics);
    return { file, metrics, result };
  } finally {
    ctx.model.dispose();
  }
}

export interface ExtractOptions extends BenchmarkOptions {
  /** Which sets: the test set (`val`), the training set (`train`), or both. */
  splits?: Array<'train' | 'val'>;
  /** Folder for the files (default: <run>/features). */
  out?: string;
}

/**
 * Features for retrieval: per set, `<split>.npy` (`[count, dim]` float32, rows in dataset order)
 * and `<split>.json` (checkpoint, dataset, labels, dataset indices, class names, and where each
 * row's image came from).
 */
export async function extractFeatures(source: string, options: ExtractOptions = {}): Promise<{ files: string[]; counts: Record<string, number>; dim: number }> {
  const ctx = await openBenchmark(source, options);
  try {
    const out = path.resolve(options.out ?? (ctx.runDir ? runFile(ctx.runDir, 'features') : path.join(ctx.outDir, '..', RUN_FILES.features)));
    makeDirs(out);
    const files: string[] = [];
    const counts: Record<string, number> = {};
    let dim = 0;
    for (const split of options.splits ?? ['val']) {
      const set = await featuresOf(ctx, split, { noCache: true });
      dim = set.dim;
      counts[split] = set.count;
      const where = await itemOrigins(ctx, split, set.indices);
      const npy = path.join(out, `${split}.npy`);
      const index = path.join(out, `${split}.json`);
      writeNpy(npy, set.features, [set.count, set.dim]);
      writeAtomic(index, [
        JSON.stringify({ checkpoint: ctx.checkpoint, iter: ctx.iter, weights: ctx.weights, dataset: ctx.datasets[split], count: set.count, dim: set.dim, classes: set.classes, labels: Array.from(set.labels), indices: Array.from(set.indices), where }) + '\n',
      ]);
      files.push(npy, index);
    }
    return { files, counts, dim };
  } finally {
    ctx.model.dispose();
  }
}

/** Where each row's image came from (file paths, `file[index]` for array sources). */
async function itemOrigins(ctx: BenchmarkContext, split: 'train' | 'val', indices: Int32Array): Promise<string[] | undefined> {
  const plan = registries.dataset.build(ctx.datasets[split], {}, `data.${split}`) as DatasetPlan;
  const src = await plan.source.open({ split, skipCorrupt: true, skip: () => undefined, resolvePath: pathResolver(ctx.configDir) });
  try {
    const out: string[] = [];
    for (const i of indices) out.push((await src.item(i)).where);
    return out;
  } catch {
    return undefined;
  } finally {
    src.close?.();
  }
}
