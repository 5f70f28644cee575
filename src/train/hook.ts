/**
 * Hooks: the runner calls them at fixed points of the loop, in order of priority (lower first,
 * as mmengine: 0 highest, 100 lowest). Logging, evaluation, checkpoints and EMA are hooks;
 * self-supervised methods add their own (momentum encoders, temperature schedules).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Algorithm } from '../models/algorithms/types';
import type { RunDir, RunStatus as RunFileStatus } from '../rundir';
import type { Location } from '../core/problems';
import type { Optimizer } from './optimizers/optimizer';

export { PRIORITY } from '../core/hookPriority';

/** What one optimizer step produced. */
export interface IterOutput {
  loss: number;
  logs: Record<string, number>;
  /** Samples consumed by this step (all accumulated batches). */
  samples: number;
  lr: number;
  /** Wall time of the step, data waiting included, in seconds. */
  seconds: number;
  /** Seconds spent waiting for data. */
  dataSeconds: number;
}

/** The runner as hooks see it. */
export interface RunnerApi {
  readonly model: Algorithm;
  readonly config: Record<string, unknown>;
  readonly runDir: RunDir;
  /** 0-based epoch being run. */
  readonly epoch: number;
  /** Optimizer steps done so far. */
  readonly iter: number;
  readonly maxIters: number;
  readonly maxEpochs: number;
  readonly itersPerEpoch: number;
  readonly lr: number;
  /** The optimizer, for hooks that schedule its options (weight decay). */
  readonly optimizer: Optimizer;
  readonly seed: number;
  /** The checkpoint this run resumed from, if it did. */
  readonly resumedFrom?: string;
  /** One line to the terminal and log.txt. */
  log(message: string): void;
  /** One JSON line to metrics.jsonl (time, epoch and iter are added). */
  writeMetrics(record: Record<string, unknown>): void;
  /** Save a checkpoint now under checkpoints/<name>.safetensors. */
  saveCheckpoint(name: string): string;
  /** Ask the loop to stop after the current step (a last checkpoint is written). */
  requestStop(reason: string): void;
  /** Where the config wrote `path` (`model.pretrained`), the key's range; unknown without a config file. */
  configLocation?(path: string): Location | undefined;
}

export interface Hook {
  readonly name: string;
  readonly priority: number;
  beforeRun?(runner: RunnerApi): void | Promise<void>;
  beforeEpoch?(runner: RunnerApi): void | Promise<void>;
  beforeIter?(runner: RunnerApi): void | Promise<void>;
  afterIter?(runner: RunnerApi, out: IterOutput): void | Promise<void>;
  afterEpoch?(runner: RunnerApi): void | Promise<void>;
  afterRun?(runner: RunnerApi, status: RunStatus): void | Promise<void>;
  /** Around evaluation: EMA swaps its averaged weights in and out. */
  beforeEval?(runner: RunnerApi): void;
  afterEval?(runner: RunnerApi, metrics: Record<string, number>): void | Promise<void>;
  /** JSON state saved in checkpoints (best metric so far, schedules, ...). */
  state?(): unknown;
  loadState?(state: unknown): void;
  /** Tensor state saved in checkpoints under `hooks.<name>.` (EMA weights, queues). */
  tensors?(): Map<string, tf.Tensor>;
  loadTensors?(tensors: Map<string, tf.Tensor>): void;
}

/** How a run the trainer ran ended (run.json's statuses, less `pending`). */
export type RunStatus = Exclude<RunFileStatus, 'pending'>;

export function sortHooks(hooks: Hook[]): Hook[] {
  return [...hooks].sort((a, b) => a.priority - b.priority);
}
