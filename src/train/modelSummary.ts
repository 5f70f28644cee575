/**
 * `cvw summary`: what a config's model is and what one training step of it costs, before a run:
 * parameters per module (as torchinfo and Ultralytics' model summary list them), multiply-adds
 * (MACs, as fvcore and mmpretrain's get_flops count them: convolutions and matrix products, not
 * the element-wise operations) of the backbone on one image and of one training step's forward on
 * one sample, and the memory of a training step at the config's batch size. Counted from the
 * engine's own kernel records (tf.profile) on real samples of data.train, taken through the loader:
 * multi-view and multi-crop steps, both encoders of momentum methods, every head included.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { resolveTrainingConfig } from '../core/check';
import type { Overrides } from '../core/config/overrides';
import { gigabytes } from '../core/format';
import { describeMemoryLimit, memoryLimit } from '../core/memoryLimit';
import { UserError } from '../core/problems';
import { initEngine } from '../engine';
import type { EngineConfig } from '../engine/configSection';
import { buildModel } from '../models/buildModel';
import type { Algorithm, TensorBatch } from '../models/algorithms/types';
import type { Module } from '../models/nn/module';
import { seedStep } from '../models/nn/stepRandom';
import { applyDataDefaults } from './dataDefaults';
import { disposeTensors, openLoader, toTensors } from './dataBridge';

export interface ModuleRow {
  /** Dotted path (`backbone.layer1`). */
  name: string;
  type: string;
  depth: number;
  params: number;
  trainable: number;
}

export interface StepCost {
  /** Tensor bytes a step holds at its peak beyond the model's weights, at each batch size measured (1 and 2 by default). */
  peaks: Array<{ batch: number; bytes: number }>;
  /** Per sample and fixed: the line through the first two. */
  perSample: number;
  fixed: number;
  /** Forward MACs of a training step, per sample. */
  macs: number;
}

export interface ModelSummary {
  algorithm: string;
  engine: string;
  modules: ModuleRow[];
  params: number;
  trainable: number;
  /** Floats in buffers (running statistics, queues, momentum encoders' copies). */
  buffers: number;
  /** `WxHxC` of each view of one sample. */
  views: string[];
  /** MACs of `extract` (the backbone and its pooling) on one image of view 0. */
  backboneMacs: number;
  step: StepCost;
  /** Optimizer state per trainable parameter (SGD with momentum and LARS 1, AdamW 2). */
  optimizerSlots: number;
  batchSize: number;
  /** Weights, their gradients' optimizer state and the step's peak at `batchSize`. */
  estimateBytes: number;
  /** What the estimate is held against: the wasm engine's heap, or the machine's (its control group's) memory. */
  memoryLimit: string;
  memoryLimitBytes: number;
  /** The share of it a step may take and be said to fit (the machine's memory also holds the data workers, the process...). */
  memoryBudget: number;
}

/** The wasm engine's heap: 32-bit addresses. */
const WASM_HEAP_BYTES = 2 ** 32;

export interface SummaryOptions {
  overrides?: Overrides;
  engine?: Partial<EngineConfig>;
  /** Module rows down to this depth (1: the algorithm's parts). */
  depth?: number;
  /** Batch sizes to measure a step at (default [1, 2]; the first two draw the line). */
  measureAt?: number[];
}

type KernelRecord = { name: string; inputShapes: number[][]; outputShapes: number[][] };
const size = (shape: number[] | undefined) => (shape ?? []).reduce((a, b) => a * b, 1);

/** Multiply-adds of one kernel record: convolutions and matrix products (their backward kernels are not forward work). */
export function kernelMacs(k: KernelRecord): number {
  const [a, b] = k.inputShapes;
  const out = k.outputShapes[0];
  if (!a || !b || !out) return 0;
  switch (k.name) {
    case 'Conv2D':
    case 'FusedConv2D':
      // out [n, h, w, co] x filter [kh, kw, ci, co] / co
      return size(out) * b[0] * b[1] * b[2];
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D':
      return size(out) * b[0] * b[1];
    case 'BatchMatMul':
    case '_FusedMatMul': {
      // Each output element sums over the shared dimension: a's elements per matrix over the output's rows.
      const rows = out[out.length - 2];
      const matrices = size(a.slice(0, -2));
      return size(out) * (size(a) / (matrices * rows));
    }
    default:
      return 0;
  }
}

function profileMacs(kernels: KernelRecord[]): number {
  return kernels.reduce((n, k) => n + kernelMacs(k), 0);
}

/** The MACs of what `fn` runs on the engine (its tensors disposed by the caller). */
export async function macsOf(fn: () => void): Promise<number> {
  return profileMacs((await tf.profile(fn)).kernels as KernelRecord[]);
}

/** The module tree down to `depth`, each row with its parameters. */
export function moduleRows(model: Module, depth: number): ModuleRow[] {
  const rows: ModuleRow[] = [];
  const visit = (m: Module, prefix: string, d: number) => {
    for (const [name, child] of m.children()) {
      const full = prefix ? `${prefix}.${name}` : name;
      rows.push({ name: full, type: child.constructor.name, depth: d, params: child.parameterCount(), trainable: child.parameterCount(true) });
      if (d < depth) visit(child, full, d + 1);
    }
  };
  visit(model, '', 1);
  return rows;
}

/** Optimizer state slots per parameter of the optimizers this toolkit has. */
function optimizerSlots(optimizer: unknown): number {
  const o = (optimizer ?? {}) as { type?: string; momentum?: number };
  if (o.type === 'SGD') return o.momentum ? 1 : 0;
  if (o.type === 'LARS') return 1;
  return 2; // AdamW, and any other: Adam's two moments
}

const PROGRESS = { iter: 0, epoch: 0, maxIters: 1, itersPerEpoch: 1 };

/** MACs of a training step's forward alone on `batch` (the backward's kernels include matrix products too). */
function stepMacs(model: Algorithm, batch: TensorBatch, seed: number): Promise<number> {
  seedStep(seed, 0);
  return macsOf(() => tf.tidy(() => model.trainStep(batch, PROGRESS).loss).dispose());
}

/** Peak tensor bytes above those held before, of one training step (forward and backward) on `batch`. */
async function stepPeak(model: Algorithm, batch: TensorBatch, seed: number): Promise<number> {
  const base = tf.memory().numBytes;
  const vars = model.trainableVariables();
  const step = await tf.profile(() => {
    seedStep(seed, 0);
    const { value, grads } = tf.variableGrads(() => model.trainStep(batch, PROGRESS).loss, vars);
    value.dispose();
    for (const g of Object.values(grads)) g?.dispose();
  });
  return step.peakBytes - base;
}

export async function summarizeModel(configFile: string, options: SummaryOptions = {}): Promise<ModelSummary> {
  const { config, loaded } = resolveTrainingConfig(configFile, { overrides: options.overrides });
  const cfg = config as { seed: number; engine: EngineConfig; model: unknown; optimizer: unknown; data: { train?: Record<string, unknown> } & Record<string, unknown> };
  const train = cfg.data.train;
  if (!train) throw new UserError(`${configFile}: no data.train: the summary measures a training step on its samples`);
  const engine = await initEngine({ ...cfg.engine, ...options.engine });
  const configDir = path.dirname(path.resolve(configFile));
  // A loader of n samples a batch (no workers) for each batch size measured.
  const firstBatch = async (n: number) => {
    const loader = await openLoader({ dataset: { ...train, batch_size: n, shuffle: false, drop_last: false } as never, data: { ...cfg.data, workers: 0 }, split: 'train', seed: cfg.seed, configDir });
    try {
      for await (const b of loader.epoch(0)) return { batch: b, loader };
      throw new UserError('data.train gave no batch');
    } finally {
      await loader.close();
    }
  };
  const sizes = options.measureAt ?? [1, 2];
  const batches = [];
  for (const n of sizes) batches.push(await firstBatch(n));
  const one = batches[0];
  const info = { channels: one.loader.channels, numClasses: one.loader.numClasses };
  applyDataDefaults((loaded.config as { model?: unknown }).model, cfg.model, info, () => undefined);
  const model = buildModel(cfg.model, { purpose: 'train', seed: cfg.seed });
  try {
    model.checkData?.(info);
    const views = one.batch.views.map((v) => `${v.shape[2]}x${v.shape[1]}x${v.shape[3]}`);
    if (sizes.length < 2 || sizes[0] === sizes[1]) throw new UserError('the step is measured at two batch sizes at least');
    const measured = [];
    let macsPerSample = 0;
    for (const { batch } of batches) {
      const t = toTensors(batch);
      try {
        // The MACs once, on the first batch; the memory at every size.
        if (!measured.length) macsPerSample = (await stepMacs(model, t, cfg.seed)) / batch.indices.length;
        measured.push({ batch: batch.indices.length, peak: await stepPeak(model, t, cfg.seed) });
      } finally {
        disposeTensors(t);
      }
    }
    const [s1, s2] = measured;
    const perSample = Math.max(0, (s2.peak - s1.peak) / (s2.batch - s1.batch));
    const fixed = Math.max(0, s1.peak - s1.batch * perSample);
    // The backbone on one image, as a model zoo counts it (eval mode, no gradients).
    model.train(false);
    const [, h, w, c] = one.batch.views[0].shape;
    const image = tf.tensor4d(one.batch.views[0].data.subarray(0, h * w * c), [1, h, w, c]);
    const backboneMacs = await macsOf(() => model.extract(image).dispose());
    image.dispose();
    model.train(true);
    const params = model.parameterCount();
    const trainable = model.parameterCount(true);
    const buffers = model.namedBuffers().reduce((n, [, b]) => n + b.size, 0);
    const slots = optimizerSlots(cfg.optimizer);
    const batchSize = Number(train.batch_size ?? 1);
    const limit = memoryLimit();
    const wasm = engine.backend === 'wasm' && WASM_HEAP_BYTES < limit.bytes;
    return {
      algorithm: model.constructor.name,
      engine: `${engine.backend} (${engine.engine})`,
      modules: moduleRows(model, options.depth ?? 2),
      params,
      trainable,
      buffers,
      views,
      backboneMacs,
      step: { peaks: measured.map((m) => ({ batch: m.batch, bytes: m.peak })), perSample, fixed, macs: macsPerSample },
      optimizerSlots: slots,
      batchSize,
      estimateBytes: 4 * (params + buffers + slots * trainable) + fixed + batchSize * perSample,
      memoryLimit: wasm ? `the wasm engine's ${gigabytes(WASM_HEAP_BYTES)} GB (the most its memory can grow to)` : describeMemoryLimit(limit),
      memoryLimitBytes: wasm ? WASM_HEAP_BYTES : limit.bytes,
      memoryBudget: wasm ? 0.9 : 0.5,
    };
  } finally {
    model.dispose();
  }
}

/** The summary as the terminal shows it. */
export function formatSummary(s: ModelSummary): string {
  const count = (n: number) => n.toLocaleString('en');
  const width = Math.max(6, ...s.modules.map((r) => r.name.length + 2 * (r.depth - 1)));
  const typeWidth = Math.max(4, ...s.modules.map((r) => r.type.length));
  const lines = [`${s.algorithm} on ${s.engine}`, `${'module'.padEnd(width)}  ${'type'.padEnd(typeWidth)}  ${'parameters'.padStart(12)}  ${'trainable'.padStart(12)}`];
  for (const r of s.modules) lines.push(`${('  '.repeat(r.depth - 1) + r.name).padEnd(width)}  ${r.type.padEnd(typeWidth)}  ${count(r.params).padStart(12)}  ${count(r.trainable).padStart(12)}`);
  lines.push(`${'total'.padEnd(width)}  ${''.padEnd(typeWidth)}  ${count(s.params).padStart(12)}  ${count(s.trainable).padStart(12)}  (buffers: ${count(s.buffers)} values)`);
  const g = (macs: number) => `${(macs / 1e9).toLocaleString('en', { maximumSignificantDigits: 3 })} GMACs`;
  lines.push(`views of a sample: ${s.views.join(', ')}`);
  lines.push(`backbone: ${g(s.backboneMacs)} per ${s.views[0]} image; training step forward: ${g(s.step.macs)} per sample (every view, every network; convolutions and matrix products)`);
  const mb = (b: number) => `${(b / 1e6).toLocaleString('en', { maximumSignificantDigits: 3 })} MB`;
  lines.push(`training step memory: ${mb(s.step.perSample)} per sample + ${mb(s.step.fixed)}, beside ${mb(4 * (s.params + s.buffers))} of weights and ${mb(4 * s.optimizerSlots * s.trainable)} of optimizer state (${s.optimizerSlots} per parameter)`);
  const fits = s.estimateBytes <= s.memoryLimitBytes * s.memoryBudget;
  const share = `${Math.round(s.memoryBudget * 100)}%`;
  lines.push(`at data.train.batch_size ${s.batchSize}: about ${gigabytes(s.estimateBytes)} GB of tensors, ${fits ? 'within' : `more than ${share} of`} ${s.memoryLimit}${fits ? '' : ': lower the batch size, or accumulate (runner.accumulate_steps)'}`);
  return lines.join('\n');
}
