/**
 * `evaluate(config, {checkpoint})`: the Node API behind `cvw eval`. Builds the model of a config
 * (or of a run), loads a checkpoint's weights (its EMA weights when it has them, as training
 * evaluated), and runs the config's eval_pipelines.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../core/check';
import type { Overrides } from '../core/config/overrides';
import { registries } from '../core/registry';
import { UserError } from '../core/problems';
import type { ComponentConfig } from '../core/schema';
import type { EngineConfig } from '../engine/configSection';
import { buildModel } from '../models/buildModel';
import { loadCheckpoint, disposeCheckpoint, withPrefix } from '../train/checkpoint';
import { openLoader } from '../train/dataBridge';
import { dataSplit } from '../data/configSection';
import { initEngine } from '../engine';
import { isRunDir, resolveCheckpoint, runDirOfCheckpoint, runFile } from '../rundir';
import { loaderNeeds, type Evaluator } from './evaluator';
import { collectPredictions } from './predict';

export interface EvaluateOptions {
  /** Checkpoint file or run directory (best, else latest); required unless `config` is a run directory. */
  checkpoint?: string;
  overrides?: Overrides;
  engine?: Partial<EngineConfig>;
  /** Use the checkpoint's raw weights even when it holds EMA weights. */
  noEma?: boolean;
  /** Called with each line of progress. */
  log?: (message: string) => void;
}

export interface EvaluateResult {
  checkpoint: string;
  /** `<pipeline>/<metric>` */
  metrics: Record<string, number>;
  weights: 'ema' | 'raw';
}

export async function evaluate(configOrRun: string, options: EvaluateOptions = {}): Promise<EvaluateResult> {
  const log = options.log ?? (() => undefined);
  const runDir = isRunDir(configOrRun) ? path.resolve(configOrRun) : undefined;
  const configFile = runDir ? runFile(runDir, 'config') : configOrRun;
  const source = options.checkpoint ?? runDir;
  if (!source) {
    if (!fs.existsSync(configOrRun)) throw new UserError(`${configOrRun}: no such config file or run directory`);
    if (fs.statSync(configOrRun).isDirectory()) throw new UserError(`${configOrRun}: not a run directory (no run.json); give a run directory, or a config with --checkpoint`);
    throw new UserError('which weights? give --checkpoint <file or run directory>, or evaluate a run directory');
  }
  const checkpoint = resolveCheckpoint(source);
  const { config } = resolveConfig(configFile, { overrides: options.overrides });
  await initEngine({ ...(config.engine as EngineConfig), ...options.engine });
  const model = buildModel(config.model, { purpose: 'load', seed: config.seed as number });
  try {
    const ckpt = loadCheckpoint(checkpoint);
    let weights: 'ema' | 'raw' = 'raw';
    try {
      const ema = withPrefix(ckpt.tensors, 'hooks.EMAHook.');
      weights = ema.size && !options.noEma ? 'ema' : 'raw';
      const { missing } = model.loadStateDict(weights === 'ema' ? ema : withPrefix(ckpt.tensors, 'model.'));
      if (missing.length) throw new UserError(`${checkpoint} does not fit the model of ${configFile}: missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
    } finally {
      disposeCheckpoint(ckpt);
    }
    const data = (config.data ?? {}) as Record<string, unknown>;
    const pipelines = (config.eval_pipelines ?? []) as Array<{ name?: string; split?: string; data?: ComponentConfig; evaluators: ComponentConfig[] }>;
    if (!pipelines.length) throw new UserError(`${configFile} has no eval_pipelines: add one, e.g. [{split: val, evaluators: [{type: ClsEvaluator}]}]`);
    const metrics: Record<string, number> = {};
    // The evaluation's files go into the run the weights belong to; a checkpoint of no run gets none.
    const ownRun = runDir ?? runDirOfCheckpoint(checkpoint);
    const outDir = ownRun ? runFile(ownRun, 'eval') : undefined;
    for (const [i, p] of pipelines.entries()) {
      const split = p.split ?? (p.data ? undefined : 'val');
      const dataset = p.data ?? (split ? (dataSplit(data, split) as ComponentConfig | undefined) : undefined);
      if (!dataset) throw new UserError(`eval_pipelines.${i}: data.${split} is not set`);
      const name = p.name ?? split ?? `eval${i}`;
      const evaluators = p.evaluators.map((e, j) => registries.evaluator.build(e, {}, `eval_pipelines.${i}.evaluators.${j}`) as Evaluator);
      const loader = await openLoader({ dataset, data, split: name, seed: config.seed as number, configDir: path.dirname(path.resolve(configFile)), ...loaderNeeds(evaluators) });
      try {
        const predictions = await collectPredictions(model, loader, new Set(evaluators.flatMap((e) => e.needs)));
        for (const e of evaluators) {
          for (const [k, v] of Object.entries(e.evaluate(predictions, { name, outDir }))) metrics[`${name}/${k}`] = v;
        }
        log(`${name}: ${predictions.count} samples`);
      } finally {
        await loader.close();
      }
    }
    return { checkpoint, metrics, weights };
  } finally {
    model.dispose();
  }
}
