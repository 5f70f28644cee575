/**
 * `train(config, options)`: the Node API behind `cvw train`. Resolves the config, starts the
 * engine, creates (or reopens, on resume) the run directory, runs, and records how it ended.
 * SIGINT/SIGTERM stop cleanly after the current step with a last checkpoint and status `stopped`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveTrainingConfig } from '../core/check';
import type { Overrides } from '../core/config/overrides';
import type { Origins } from '../core/config/yamlFile';
import { UserError } from '../core/problems';
import { packageVersion } from '../core/packageInfo';
import type { EngineConfig } from '../engine/configSection';
import { RunDir, makeNewRunDir, isRunDir, readRunInfo, RUN_FILES, CHECKPOINTS, checkpointFile, checkpointName, runDirOfCheckpoint, runFile, type RunInfo } from '../rundir';
import { NonFiniteLossError, Runner } from './runner';
import type { RunStatus } from './hook';
import { StatusLine } from './progress';
import { initEngine } from '../engine';
import { explainEngineFailure } from '../engine/failure';
import { TensorBoardWriter } from './tensorboard';
import { joinWorldIfLaunched, type World } from '../distributed/world';

/** A second delivery of the same signal this soon is the same stop (see onSignal). */
const DUPLICATE_SIGNAL_MS = 500;

export interface TrainOptions {
  /** The run directory to create (default: work_dirs/<config stem>/<run id>). */
  workDir?: string;
  /** Continue a run: its directory (latest checkpoint) or a checkpoint file. */
  resume?: string;
  /** Cap on iterations, whatever the config says (smoke runs). */
  maxIters?: number;
  /** Dotted-key overrides: the command line's, or `{ 'optimizer.lr': 0.1 }` (core/config/overrides.ts). */
  overrides?: Overrides;
  /** Engine settings that win over the config's `engine` section. */
  engine?: Partial<EngineConfig>;
  /** No progress line or log lines on stderr (the run directory still gets everything). */
  quiet?: boolean;
  /** Do not install SIGINT/SIGTERM handlers (embedding applications handle signals themselves). */
  handleSignals?: boolean;
  /** Stop the run after the current step when this signal aborts. */
  signal?: AbortSignal;
  /** Called with the run directory once it is created or reopened, before the first step (rank 0). */
  onRunDir?: (dir: string) => void;
}

export interface TrainResult {
  runDir: string;
  status: RunStatus;
  iter: number;
  /** The last evaluation metrics, `<split>/<metric>`. */
  metrics: Record<string, number>;
  best?: RunInfo['best'];
  /** Data-parallel runs: this process's rank (only rank 0 writes the run). */
  rank?: number;
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
    const checkpoint = checkpointFile(p, CHECKPOINTS.latest);
    if (!fs.existsSync(checkpoint)) throw new UserError(`--resume ${resume}: the run has no checkpoint yet (${checkpointName(CHECKPOINTS.latest)}); start it again instead`);
    return { runDir: p, checkpoint, configFile: runFile(p, 'config') };
  }
  const runDir = runDirOfCheckpoint(p);
  return runDir ? { runDir, checkpoint: p, configFile: runFile(runDir, 'config') } : { checkpoint: p };
}

export async function train(configPath: string | undefined, options: TrainOptions = {}): Promise<TrainResult> {
  const resume = options.resume ? findResumeTarget(options.resume) : undefined;
  const configFile = resume?.configFile ?? configPath;
  if (!configFile && resume) throw new UserError(`--resume ${options.resume}: a checkpoint outside a run directory holds no config; give the config too: cvw train <config> --resume ${options.resume}`);
  if (!configFile) throw new UserError('no config: give a config file, or --resume <run directory>');
  // With a model, before a run directory exists: an empty file resolves, and would leave one behind.
  const { config, loaded } = resolveTrainingConfig(configFile, { overrides: options.overrides });
  const engineConfig = { ...(config.engine as EngineConfig), ...options.engine };

  // Launched by mpirun/srun on several ranks: join them (MPI is loaded only then).
  const world = joinWorldIfLaunched((m) => process.stderr.write(`cvw: ${m}\n`));
  const leader = !world || world.rank === 0;
  const status = new StatusLine(process.stderr, !options.quiet && leader);
  const originalConfig = resume?.runDir ? readRunInfo(resume.runDir).config : path.resolve(configFile);
  const stem = path.basename(originalConfig).replace(/\.(ya?ml|json)$/i, '');

  const engine = await initEngine(engineConfig);
  const engineInfo = { backend: engine.backend, engine: engine.engine, reason: engine.reason };
  // Takes the run's lock (one writer per run): released in the `finally` below, or at process exit.
  // Rank 0 alone writes the run; the other ranks learn its directory from it.
  let runDir: RunDir;
  // The run as it was before this resume, put back if the resume is refused during set-up.
  let beforeResume: RunInfo | undefined;
  if (!leader) runDir = followRun(world!);
  else if (resume?.runDir) {
    const runToResume = resume.runDir;
    runDir = shareRun(world, () =>
      RunDir.reopen(runToResume, (previous) => {
        beforeResume = previous;
        return { engine: engineInfo, resumed_from: [...(previous.resumed_from ?? []), resume.checkpoint], command: process.argv.slice(1) };
      }),
    );
  } else {
    runDir = shareRun(world, () => {
      const dir = options.workDir ? path.resolve(options.workDir) : makeNewRunDir(path.resolve('work_dirs', stem));
      return RunDir.create(dir, {
      config: originalConfig,
      config_stem: stem,
      command: process.argv.slice(1),
      cvw_version: packageVersion(),
      engine: engineInfo,
      epoch: 0,
      iter: 0,
      max_iters: 0,
      max_epochs: 0,
      });
    });
  }
  if (leader) options.onRunDir?.(runDir.dir);
  try {
    return await trainIn(runDir, { config, rawConfig: loaded.config, origins: loaded.origins, originalConfig, resume, beforeResume, summary: engine.summary, status, world }, options);
  } catch (e) {
    // A failure on one rank only (every rank fails together on a non-finite loss) would leave the
    // others waiting in their next allreduce: end the job, naming the rank.
    if (world && !(e instanceof NonFiniteLossError)) {
      process.stderr.write(`cvw: ${world.describe()} failed: ${(e as Error).message}\n`);
      runDir.close();
      world.abort(1);
    }
    throw e;
  } finally {
    runDir.close();
    world?.finalize();
  }
}

/**
 * Data-parallel: rank 0 has opened the run (or failed to); tell the other ranks where it is, and
 * record the world in run.json. Called on every rank, in the same order.
 */
function shareRun(world: World | undefined, open: () => RunDir): RunDir {
  if (!world) return open();
  let runDir: RunDir;
  try {
    runDir = open();
  } catch (e) {
    world.bcastString(`${FAILED_TO_OPEN}${(e as Error).message}`);
    throw e;
  }
  runDir.update({ world_size: world.size, hosts: world.hosts, ...(process.env.SLURM_JOB_ID ? { slurm_job_id: process.env.SLURM_JOB_ID } : {}) });
  world.bcastString(runDir.dir);
  return runDir;
}

const FAILED_TO_OPEN = '\0failed:';

function followRun(world: World): RunDir {
  const dir = world.bcastString('');
  if (dir.startsWith(FAILED_TO_OPEN)) throw new UserError(`rank 0 could not open the run: ${dir.slice(FAILED_TO_OPEN.length)}`);
  return RunDir.follower(dir, world.rank, readRunInfo(dir));
}

/** The run itself, once its directory is open: everything it opens is closed on every way out. */
async function trainIn(
  runDir: RunDir,
  ctx: { config: Record<string, unknown>; rawConfig: Record<string, unknown>; origins: Origins; originalConfig: string; resume?: ResumeTarget; beforeResume?: RunInfo; summary: string; status: StatusLine; world?: World },
  options: TrainOptions,
): Promise<TrainResult> {
  const { config, resume, status, world } = ctx;
  const log = (message: string) => {
    status.print(message);
    runDir.appendLog(`${new Date().toISOString()} ${message}`);
  };
  log(`cvw ${packageVersion()} ${resume ? 'resuming' : 'training'} ${ctx.originalConfig}`);
  // The summary's first line, then a line of its own for each warning (a software GPU adapter).
  for (const line of `engine: ${ctx.summary}`.split('\n')) log(line);
  log(`run directory: ${runDir.runPath}`);
  const takeover = runDir.lock?.takeoverNote();
  if (takeover) log(takeover);

  let runner: Runner | undefined;
  /** The engine aborted (explainEngineFailure): nothing may be freed on it any more. */
  let engineBroken = false;
  // A stop asked for during set-up (no runner yet) is kept for the runner, and a second signal then exits too.
  let stopReason: string | undefined;
  const stop = (reason: string) => {
    stopReason ??= reason;
    runner?.requestStop(reason);
  };
  // One stop can arrive twice within milliseconds: a supervisor that signals every process of a
  // group (systemd, Slurm) reaches both `cvw`'s launcher, which passes it on, and this process
  // (src/cli/relaunch.ts). That is one request, not the "again" of a person pressing Ctrl+C twice.
  let firstSignal: { sig: NodeJS.Signals; at: number } | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (firstSignal && firstSignal.sig === sig && Date.now() - firstSignal.at < DUPLICATE_SIGNAL_MS) return;
    firstSignal ??= { sig, at: Date.now() };
    if (world?.inFlight() && sig === 'SIGTERM') {
      // Waiting for the other ranks: when one has died, mpirun sends this SIGTERM and a SIGKILL
      // soon after, so the run's record is written now. If the collective completes instead
      // (scancel signals every rank), the run stops cleanly and this record is replaced.
      const message = `${sig} while ${world.describe()} waited for the other ranks at iteration ${runner?.iter ?? 0} (when a rank has died, mpirun's message names it); continue with \`cvw train --resume ${runDir.runPath}\``;
      runDir.update({ status: 'failed', ended: new Date().toISOString(), error: { message, iter: runner?.iter } });
      log(message);
    }
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
    // mpirun passes SIGUSR1 on to every rank (`cvw train --nproc` turns Ctrl+C into it).
    if (world) process.on('SIGUSR1', onSignal);
  }
  const onAbort = () => stop('aborted');
  options.signal?.addEventListener('abort', onAbort);

  const tensorboard = new TensorBoardWriter(runDir.dir);
  try {
    runner = await Runner.create({ config, rawConfig: ctx.rawConfig, origins: ctx.origins, runDir, maxItersCap: options.maxIters, resumeFrom: resume?.checkpoint, status, sinks: [tensorboard], log, world });
    if (resume?.runDir) {
      // The runner is at the checkpoint's iteration now (its reader has checked the file).
      const dropped = runDir.truncateMetricsAfter(runner.iter);
      if (dropped) log(`dropped ${dropped} metric line(s) written after the checkpoint by the interrupted run`);
    }
    runDir.writeConfig(config);
    runDir.update({ max_iters: runner.maxIters, max_epochs: runner.maxEpochs });
    log(`${runner.maxEpochs} epoch(s), ${runner.maxIters} iterations of ${runner.itersPerEpoch} per epoch; model: ${runner.model.parameterCount()} parameters (${runner.model.parameterCount(true)} trainable)`);
    if (world) {
      const perRank = (config.data as { train?: { batch_size?: number } }).train?.batch_size;
      const accumulate = (config.runner as { accumulate_steps?: number }).accumulate_steps ?? 1;
      log(`data-parallel on ${world.size} ranks (${[...new Set(world.hosts)].join(', ')}): batch ${perRank} per rank${accumulate > 1 ? ` x ${accumulate} accumulated` : ''}, effective batch ${(perRank ?? 0) * accumulate * world.size}`);
    }
    let final: RunStatus = 'stopped';
    // Data-parallel ranks stop together, after a step they all take.
    if (stopReason !== undefined && world) runner.requestStop(stopReason);
    if (stopReason === undefined || world) final = await runner.run();
    else log(`stopped (${stopReason}) during set-up, before the first step`);
    if (world) {
      await runner.checkRanksAgree();
      if (runner.allreduce.floats) log(`gradient allreduce: ${(runner.allreduce.seconds * 1000 / Math.max(1, runner.iter)).toFixed(1)} ms per step (${Math.round(runner.allreduce.floats / Math.max(1, runner.iter))} floats; waiting for the slowest rank included)`);
    }
    const info = runDir.runInfo;
    // (A note a signal left while waiting for other ranks is dropped: the run ended cleanly after all.)
    runDir.update({ status: final, ended: new Date().toISOString(), error: undefined });
    if (final === 'finished') log(`finished: ${summarize(info.metrics)}${info.best ? `; best ${info.best.metric} ${info.best.value.toFixed(4)} at epoch ${info.best.epoch}` : ''}`);
    return { runDir: runDir.runPath, status: final, iter: runner.iter, metrics: info.metrics ?? {}, best: info.best, rank: world?.rank };
  } catch (thrown) {
    const e = explainEngineFailure(thrown, runner?.iter) as Error;
    engineBroken = e !== thrown;
    if (!runner && ctx.beforeResume) {
      // Refused before its first step (a checkpoint that does not fit, a bad override): the run
      // it would have continued is left as it was, a finished run still finished.
      const before = ctx.beforeResume;
      // The keys the resume set are named: where the run had none, they go (a spread keeps them).
      runDir.update({ ...before, resumed_from: before.resumed_from, engine: before.engine, command: before.command });
      log(`resume refused, the run is left ${before.status}: ${e.message}`);
      throw e;
    }
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
      process.off('SIGUSR1', onSignal);
    }
    await runner?.close(engineBroken);
  }
}

function summarize(metrics: Record<string, number> | undefined): string {
  if (!metrics || !Object.keys(metrics).length) return 'no evaluation metrics';
  return Object.entries(metrics)
    .map(([k, v]) => `${k} ${v.toFixed(4)}`)
    .join(', ');
}
