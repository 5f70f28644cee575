/**
 * From what a user points at — a run directory or a checkpoint file — to a model ready to run:
 * its resolved config, the weights (the EMA average when the run kept one, as evaluation used),
 * the evaluation pre-processing and the class names of its data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { resolveConfig } from '../core/check';
import { UserError } from '../core/problems';
import { isPlainObject } from '../core/schema';
import { loadCheckpoint, disposeCheckpoint, withPrefix, readCheckpointMeta } from '../train/checkpoint';
import { bestOrLatestCheckpoint, CHECKPOINTS, checkpointName, isRunDir, readRunInfo, RUN_FILES, runDirOfCheckpoint, runFile } from '../rundir';
import type { Algorithm } from '../models/algorithms/types';
import { buildModel } from '../models/buildModel';
import { quietCpuBackend } from '../engine/quietCpuBackend';

export interface ModelSource {
  /** The run directory, when the checkpoint belongs to one. */
  runDir?: string;
  checkpoint: string;
  config: Record<string, unknown>;
  /** Where the config was written (relative data paths are resolved against its folder too). */
  configDir: string;
  /** Iteration and epoch the checkpoint was saved at. */
  iter?: number;
  epoch?: number;
}

/** The checkpoint to use for a run directory: best, else latest. */
export function runCheckpoint(dir: string): string {
  const found = bestOrLatestCheckpoint(dir);
  if (found) return found;
  throw new UserError(`${dir}: the run has no checkpoint yet (looked for ${checkpointName(CHECKPOINTS.best)} and ${checkpointName(CHECKPOINTS.latest)})`);
}

/** Resolve a run directory or a checkpoint file; errors say which was expected. */
export function resolveModelSource(target: string): ModelSource {
  const p = path.resolve(target);
  if (!fs.existsSync(p)) throw new UserError(`${target}: no such run directory or checkpoint`);
  let runDir: string | undefined;
  let checkpoint: string;
  if (fs.statSync(p).isDirectory()) {
    if (!isRunDir(p)) throw new UserError(`${target}: not a run directory (no ${RUN_FILES.run}); give a run directory, a .safetensors checkpoint, an .onnx file or an exported TF.js folder`);
    runDir = p;
    checkpoint = runCheckpoint(p);
  } else {
    checkpoint = p;
    runDir = runDirOfCheckpoint(p);
  }
  const meta = readCheckpointMeta(checkpoint);
  let config: Record<string, unknown>;
  let configDir: string;
  const runConfig = runDir ? runFile(runDir, 'config') : undefined;
  if (runConfig && fs.existsSync(runConfig)) {
    // The run's config loads its custom components too.
    config = resolveConfig(runConfig).config;
    const original = readRunInfo(runDir!).config;
    configDir = original ? path.dirname(original) : runDir!;
  } else if (isPlainObject(meta.config)) {
    config = meta.config as Record<string, unknown>;
    configDir = path.dirname(checkpoint);
  } else {
    throw new UserError(`${checkpoint}: the checkpoint has no config and is not inside a run directory, so the model cannot be rebuilt`);
  }
  if (!isPlainObject(config.model)) throw new UserError(`${runConfig ?? checkpoint}: the config has no model section`);
  return { runDir, checkpoint, config, configDir, iter: meta.iter as number | undefined, epoch: meta.epoch as number | undefined };
}

export interface LoadedModel {
  model: Algorithm;
  /** 'ema' when the EMAHook's average was loaded (it is what evaluation used). */
  weights: 'ema' | 'model';
  source: ModelSource;
}

/** Build the model of a source and load its weights (eval mode). */
export function loadModel(source: ModelSource): LoadedModel {
  const model = buildModel(source.config.model, { purpose: 'load' });
  const ckpt = loadCheckpoint(source.checkpoint);
  try {
    const ema = withPrefix(ckpt.tensors, 'hooks.EMAHook.');
    const weights = ema.size ? ema : withPrefix(ckpt.tensors, 'model.');
    if (!weights.size) throw new UserError(`${source.checkpoint}: no model weights in the checkpoint (no "model." tensors)`);
    const { missing } = model.loadStateDict(weights);
    if (missing.length) {
      model.dispose();
      throw new UserError(`${source.checkpoint}: the checkpoint does not fit the config's model; missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
    }
    model.eval();
    return { model, weights: ema.size ? 'ema' : 'model', source };
  } finally {
    disposeCheckpoint(ckpt);
  }
}

/** A backend for tracing and running models here: keep the current one, else wasm, else cpu. */
export async function ensureBackend(preferred?: 'wasm' | 'cpu'): Promise<string> {
  require('@tensorflow/tfjs-backend-cpu');
  quietCpuBackend();
  const current = (tf.engine() as unknown as { backendName?: string | null }).backendName;
  if (!preferred && current) return current;
  if (preferred && current === preferred) return current;
  try {
    require('@tensorflow/tfjs-backend-wasm');
    if (preferred !== 'cpu' && (await tf.setBackend('wasm'))) return 'wasm';
  } catch {
    // The wasm binary could not be loaded: the plain cpu backend is always there.
  }
  await tf.setBackend('cpu');
  return 'cpu';
}
