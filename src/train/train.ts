/**
 * `train(config, options)`: the Node API behind `cvw train`. Resolves the config, starts the
 * engine, creates (or reopens, on resume) the run directory, runs, and records how it ended.
 * SIGINT/SIGTERM stop cleanly after the current step with a last checkpoint and status `stopped`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../core/check';
import type { Override } from '../core/config/overrides';
import { UserError } from '../core/problems';
import { packageVersion } from '../core/packageInfo';
import type { EngineConfig } from '../engine/configSection';
import { RunDir, makeNewRunDir, isRunDir, readRunInfo, RUN_FILES, type RunInfo } from './runDir';
import { Runner } from './runner';
import type { RunStatus } from './hook';
import { StatusLine } from './progress';
import { initEngine } from '../engine';
import { explainEngineFailure } from '../engine/failure';
import { TensorBoardWriter } from './tensorboard';

export interface TrainOptions {
  /** The run directory to create (default: work_dirs/<config stem>/<run id>). */
  workDir?: string;
  /** Continue a run: its directory (latest checkpoint) or a checkpoint file. */
  resume?: string;
  /** Cap on iterations, whatever the config says (smoke runs). */
  maxIters?: number;
  /** Dotted-key overrides, as on the command line. */
  overrides?: Override[];
  /** Engine settings that win over the config's `engine` section. */
  engine?: Partial<EngineConfig>;
  /** No progress line or log lines on stderr (the run directory still gets everything). */
  quiet?: boolean;
  /** Do not install SIGINT/SIGTERM handlers (embedding applications handle signals themselves). */
  handleSignals?: boolean;
  /** Stop the run after the current step when this signal aborts. */
  signal?: AbortSignal;
}

export interface TrainResult {
  runDir: string;
  status: RunStatus;
  iter: number;
  /** The last evaluation metrics, `<split>/<metric>`. */
  metrics: Record<string, number>;
  best?: RunInfo['best'];
}

interface ResumeTarget {
  runDir?: string;
  checkpoint: string;
  configFile?: string;
}

function findResumeTarget(resume: string): ResumeTarget {
  const p = path.resolve(resume);
  if (!fs.existsSync(p)) throw new UserError(`--resume ${resume}: no such run directory or checkpoint`);
  if (fs.statSync(p).isDirectory()) {
    if (!isRunDir(p)) throw new UserError(`--resume ${resume}: not a run directory (no ${RUN_FILES.run})`);
    const checkpoint = path.join(p, RUN_FILES.checkpoints, 'latest.safetensors');
    if (!fs.existsSync(checkpoint)) throw new UserError(`--resume ${resume}: the run has no checkpoint yet (checkpoints/latest.safetensors); start it again instead`);
    return { runDir: p, checkpoint, configFile: path.join(p, RUN_FILES.config) };
  }
  const runDir = path.dirname(path.dirname(p));
  if (path.basename(path.dirname(p)) === RUN_FILES.checkpoints && isRunDir(runDir)) return { runDir, checkpoint: p, configFile: path.join(runDir, RUN_FILES.config) };
  return { checkpoint: p };
}

export async function train(configPath: string | undefined, options: TrainOptions = {}): Promise<TrainResult> {
  const resume = options.resume ? findResumeTarget(options.resume) : undefined;
  const configFile = resume?.configFile ?? configPath;
  if (!configFile) throw new UserError('no config: give a config file, or --resume <run directory>');
  const { config, loaded } = resolveConfig(configFile, { overrides: options.overrides });
  const engineConfig = { ...(config.engine as EngineConfig), ...options.engine };

  const status = new StatusLine(process.stderr, !options.quiet);
  const originalConfig = resume?.runDir ? readRunInfo(resume.runDir).config : path.resolve(configFile);
  const stem = path.basename(originalConfig).replace(/\.(ya?ml|json)$/i, '');

  const engine = await initEngine(engineConfig);
  const engineInfo = { backend: engine.backend, engine: engine.engine, reason: engine.reason };
  // Takes the run's lock (one writer per run): released in the `finally` below, or at process exit.
  let runDir: RunDir;
  if (resume?.runDir) {
    runDir = RunDir.reopen(resume.runDir, (previous) => ({
      engine: engineInfo,
      resumed_from: [...(previous.resumed_from ?? []), resume.checkpoint],
      command: process.argv.slice(1),
    }));
  } else {
    const dir = options.workDir ? path.resolve(options.workDir) : makeNewRunDir(path.resolve('work_dirs', stem));
    runDir = RunDir.create(dir, {
      config: originalConfig,
      config_stem: stem,
      run_id: path.basename(dir),
      command: process.argv.slice(1),
      cvw_version: packageVersion(),
      engine: engineInfo,
      epoch: 0,
      iter: 0,
      max_iters: 0,
      max_epochs: 0,
    });
  }
  try {
    return await trainIn(runDir, { config, rawConfig: loaded.config, originalConfig, resume, summary: engine.summary, status }, options);
  } finally {
    runDir.close();
  }
}

/** The run itself, once its directory is open: everything it opens is closed on every way out. */
async function trainIn(
  runDir: RunDir,
  ctx: { config: Record<string, unknown>; rawConfig: Record<string, unknown>; originalConfig: string; resume?: ResumeTarget; summary: string; status: StatusLine },
  options: TrainOptions,
): Promise<TrainResult> {
  const { config, resume, status } = ctx;
  const log = (message: string) => {
    status.print(message);
    runDir.appendLog(`${new Date().toISOString()} ${message}`);
  };
  log(`cvw ${packageVersion()} ${resume ? 'resuming' : 'training'} ${ctx.originalConfig}`);
  // The summary's first line, then a line of its own for each warning (a software GPU adapter).
  for (const line of `engine: ${ctx.summary}`.split('\n')) log(line);
  log(`run directory: ${runDir.dir}`);
  const takeover = runDir.lock.takeoverNote();
  if (takeover) log(takeover);

  let runner: Runner | undefined;
  // A stop asked for during set-up (no runner yet) is kept for the runner, and a second signal then exits too.
  let stopReason: string | undefined;
  const stop = (reason: string) => {
    stopReason ??= reason;
    runner?.requestStop(reason);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopReason !== undefined) {
      log(`${sig} again: exiting without a last checkpoint`);
      runDir.update({ status: 'stopped', ended: new Date().toISOString() });
      process.exit(130); // the run's lock goes at exit
    }
    log(`${sig}: stopping after the current step (press Ctrl+C again to exit at once)`);
    stop(sig);
  };
  if (options.handleSignals !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const onAbort = () => stop('aborted');
  options.signal?.addEventListener('abort', onAbort);

  const tensorboard = new TensorBoardWriter(runDir.dir);
  try {
    runner = await Runner.create({ config, rawConfig: ctx.rawConfig, runDir, maxItersCap: options.maxIters, resumeFrom: resume?.checkpoint, status, sinks: [tensorboard], log });
    if (resume?.runDir) {
      // The runner is at the checkpoint's iteration now (its reader has checked the file).
      const dropped = runDir.truncateMetricsAfter(runner.iter);
      if (dropped) log(`dropped ${dropped} metric line(s) written after the checkpoint by the interrupted run`);
    }
    runDir.writeConfig(config);
    runDir.update({ max_iters: runner.maxIters, max_epochs: runner.maxEpochs });
    log(`${runner.maxEpochs} epoch(s), ${runner.maxIters} iterations of ${runner.itersPerEpoch} per epoch; model: ${runner.model.parameterCount()} parameters (${runner.model.parameterCount(true)} trainable)`);
    let final: RunStatus = 'stopped';
    if (stopReason === undefined) final = await runner.run();
    else log(`stopped (${stopReason}) during set-up, before the first step`);
    const info = runDir.runInfo;
    runDir.update({ status: final, ended: new Date().toISOString() });
    if (final === 'finished') log(`finished: ${summarize(info.metrics)}${info.best ? `; best ${info.best.metric} ${info.best.value.toFixed(4)} at epoch ${info.best.epoch}` : ''}`);
    return { runDir: runDir.dir, status: final, iter: runner.iter, metrics: info.metrics ?? {}, best: info.best };
  } catch (thrown) {
    const e = explainEngineFailure(thrown, runner?.iter) as Error;
    runDir.update({ status: 'failed', ended: new Date().toISOString(), error: { message: e.message, stack: e instanceof UserError ? undefined : e.stack, iter: runner?.iter } });
    log(`failed: ${e.message}`);
    throw e;
  } finally {
    status.done();
    tensorboard.close();
    options.signal?.removeEventListener('abort', onAbort);
    if (options.handleSignals !== false) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await runner?.close();
  }
}

function summarize(metrics: Record<string, number> | undefined): string {
  if (!metrics || !Object.keys(metrics).length) return 'no evaluation metrics';
  return Object.entries(metrics)
    .map(([k, v]) => `${k} ${v.toFixed(4)}`)
    .join(', ');
}
