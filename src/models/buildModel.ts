/**
 * The one way a config's `model` section becomes an Algorithm (training, evaluation, benchmarks,
 * export): seeded when asked, and built within a budget of parameter values that fits the memory
 * its tensors will live in.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registries } from '../core/registry';
import { gigabytes } from '../core/format';
import { describeMemoryLimit, memoryLimit } from '../core/memoryLimit';
import type { Algorithm } from './algorithms/types';
import { seedInit, withParameterBudget } from './nn/init';

/** The wasm engine's heap stops at 4 GiB, whatever the machine has. */
const WASM_HEAP_BYTES = 2 ** 32;

/**
 * What a model is built for: training holds about four times its parameters (weights,
 * gradients, the optimizer's two moments); loading, twice (the weights and the checkpoint's).
 */
export type BuildPurpose = 'train' | 'load';

/** Parameter values (float32) a model may draw on the current engine, and what that limit is. */
export function parameterBudget(purpose: BuildPurpose): { values: number; what: string } {
  const limit = memoryLimit();
  const wasmBound = tf.getBackend() === 'wasm' && WASM_HEAP_BYTES < limit.bytes;
  const bytes = wasmBound ? WASM_HEAP_BYTES : limit.bytes;
  const memory = `${wasmBound ? `the wasm engine's ${gigabytes(bytes)} GB` : describeMemoryLimit(limit)} of memory`;
  const share = purpose === 'train' ? 'a quarter' : 'half';
  const copies = purpose === 'train' ? "training holds about four times its parameters (weights, gradients, the optimizer's moments)" : 'loading holds its weights twice (the model and the checkpoint)';
  return { values: Math.floor(bytes / 4 / (purpose === 'train' ? 4 : 2)), what: `more than ${share} of ${memory}, and ${copies}` };
}

export interface BuildModelOptions {
  purpose: BuildPurpose;
  /** Seed the initialisers first (a fresh model, or one whose weights are loaded after). */
  seed?: number;
  /** Most parameter values, when not parameterBudget's (tests). */
  maxParameterValues?: number;
}

export function buildModel(model: unknown, options: BuildModelOptions): Algorithm {
  if (options.seed !== undefined) seedInit(options.seed);
  const budget = parameterBudget(options.purpose);
  return withParameterBudget(options.maxParameterValues ?? budget.values, budget.what, () => registries.model.build(model, {}, 'model') as Algorithm);
}
