/**
 * The training loop: build everything from a resolved config, then epochs of optimizer steps with
 * hooks around them. Everything it does is written into the run directory; a resumed run continues
 * from a checkpoint with the same data order, augmentations, dropout and learning rates as an
 * uninterrupted run would have had.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import { registries } from '../core/registry';
import { UserError, type Location } from '../core/problems';
import { locate, type Origins } from '../core/config/yamlFile';
import { ShapeMismatchError } from '../models/nn/module';
import { errorAtConfigKey } from '../weights/located';
import type { ComponentConfig } from '../core/schema';
import { buildModel } from '../models/buildModel';
import { seedStep } from '../models/nn/stepRandom';
import type { Algorithm, TensorBatch, TrainProgress } from '../models/algorithms/types';
import { loaderNeeds, type Evaluator } from '../eval/evaluator';
import { cacheOnCpu, syncReadsUnsupported } from '../engine/readback';
import { saveCheckpoint, loadCheckpoint, disposeCheckpoint, withPrefix, type CheckpointData } from './checkpoint';
import { sortHooks, type Hook, type IterOutput, type RunnerApi, type RunStatus } from './hook';
import { CHECKPOINTS, checkpointFile, checkpointName, parseCheckpointMeta, resolveCheckpoint, type CheckpointMeta, type RunDir } from '../rundir';
import { batchSize, disposeTensors, openLoader, toTensors, type TrainLoader } from './dataBridge';
import type { Optimizer, OptimizerFactory } from './optimizers/optimizer';
import type { LrSchedule } from './schedules';
import { LoggerHook, type MetricsSink } from './hooks/logger';
import { CheckpointHook, type CheckpointHookConfig } from './hooks/checkpoint';
import { EvalHook, type EvalPipelineRuntime } from './hooks/eval';
import { StatusLine } from './progress';
import { clipByGlobalNorm, clipPerParameter } from './gradients';
import { applyDataDefaults } from './dataDefaults';
import { dataSplit } from '../data/configSection';
import type { evalPipelineSchema, runnerSchema } from './configSections';
import type { World } from '../distributed/world';
import { averageGradients, type AllreduceTiming } from '../distributed/allreduce';
import { stateFingerprint } from '../distributed/fingerprint';
import { setBatchNormSync } from '../models/nn/batchNormSync';
import { setRanks } from '../models/nn/overRanks';

export interface RunnerOptions {
  /** The resolved config (defaults filled in); values the data decides are filled in by the runner. */
  config: Record<string, unknown>;
  /** The config as written (before defaults), to tell what the user left to the data. */
  rawConfig?: Record<string, unknown>;
  runDir: RunDir;
  /** Caps the number of iterations whatever the config says (smoke runs). */
  maxItersCap?: number;
  /** Checkpoint to continue from (weights, optimizer, progress, random state, hooks). */
  resumeFrom?: string;
  status?: StatusLine;
  /** Extra sinks for logged scalars (TensorBoard). */
  sinks?: MetricsSink[];
  /** Messages for the human log (terminal + log.txt). */
  log: (message: string) => void;
  /** Data-parallel training: the ranks this runner trains with (src/distributed). */
  world?: World;
  /** Where each value of the config was written, for errors about one key (a pretrained file that does not fit). */
  origins?: Origins;
}

/** Raised when the loss stops being a finite number. */
export class NonFiniteLossError extends UserError {
  constructor(
    readonly iter: number,
    readonly epoch: number,
    value: number,
    lr: number,
    where = '',
    /** A checkpoint of the run exists (one written before the loss went bad). */
    checkpointed = true,
  ) {
    super(
      `the loss became ${value}${where} at iteration ${iter} (epoch ${epoch}); training stopped${checkpointed ? ' and the last good checkpoint is kept' : ' before its first checkpoint, so there is none to resume from'}. ` +
        `The likely cause is a learning rate that is too high (it was ${lr.toPrecision(3)}): lower optimizer.lr, add warm-up (lr_schedule.warmup_iters) or gradient clipping (runner.grad_clip.max_norm).`,
    );
    this.name = 'NonFiniteLossError';
  }
}

/**
 * The sections of a resolved config the runner reads: the trainer's own typed by their schemas
 * (configSections.ts), the components (`model`, `optimizer`, ...) by what every slot holds.
 */
type RunnerConfig = {
  seed: number;
  model: ComponentConfig;
  data: Record<string, unknown> & { train?: ComponentConfig };
  optimizer?: ComponentConfig;
  lr_schedule?: ComponentConfig;
  runner: z.output<typeof runnerSchema>;
  hooks: ComponentConfig[];
  eval_pipelines: Array<z.output<typeof evalPipelineSchema>>;
  checkpoint: CheckpointHookConfig;
  load_from?: string;
};

export class Runner implements RunnerApi {
  model!: Algorithm;
  readonly config: Record<string, unknown>;
  readonly runDir: RunDir;
  readonly seed: number;
  resumedFrom?: string;
  epoch = 0;
  iter = 0;
  maxIters = 0;
  maxEpochs = 0;
  /** max_epochs when it, not max_iters, ends the run: no epoch after it starts, even when batches left out whole (data.skip_corrupt) leave max_iters unreached. */
  private epochLimit = Infinity;
  itersPerEpoch = 0;
  lr = 0;
  finalEpoch = false;
  private batchInEpoch = 0;
  /** While the end-of-epoch hooks of an epoch whose batches are all consumed run: its checkpoints resume at the next epoch. */
  private epochDone = false;
  private readonly cfg: RunnerConfig;
  optimizer!: Optimizer;
  private schedule: LrSchedule = (lr) => lr;
  private hooks: Hook[] = [];
  private trainLoader!: TrainLoader;
  private evalLoaders: TrainLoader[] = [];
  private checkpointHook!: CheckpointHook;
  private evalHook?: EvalHook;
  private stopReason?: string;
  /** Data-parallel: a stop asked for on this rank, agreed on by all ranks at the next step. */
  private stopWish?: string;
  private readonly world?: World;
  /** Time spent in gradient allreduces (data-parallel), for the log. */
  readonly allreduce: AllreduceTiming = { seconds: 0, floats: 0 };
  private readonly logFn: (m: string) => void;

  private constructor(private readonly options: RunnerOptions) {
    this.config = options.config;
    // Resolved (validated, defaults filled in) by resolveConfig before it gets here.
    this.cfg = options.config as RunnerConfig;
    this.runDir = options.runDir;
    this.seed = this.cfg.seed;
    this.logFn = options.log;
    this.world = options.world && options.world.size > 1 ? options.world : undefined;
  }

  /** Build the model, data, optimizer and hooks of a resolved config. */
  static async create(options: RunnerOptions): Promise<Runner> {
    const r = new Runner(options);
    try {
      await r.setUp();
    } catch (err) {
      // The caller gets no runner to close: the loaders opened so far (their worker threads keep
      // the process alive) are closed here.
      await r.close().catch(() => undefined);
      throw err;
    }
    return r;
  }

  log(message: string): void {
    this.logFn(message);
  }

  writeMetrics(record: Record<string, unknown>): void {
    this.runDir.appendMetrics({ time: Date.now() / 1000, epoch: this.epoch + 1, iter: this.iter, ...record });
  }

  requestStop(reason: string): void {
    // Ranks must stop after the same step, or one would wait forever in the next allreduce: the
    // wish travels with the step's statistics and every rank stops once any rank asked.
    if (this.world) this.stopWish ??= reason;
    else this.stopReason ??= reason;
  }

  get stopRequested(): boolean {
    return this.stopReason !== undefined;
  }

  private async setUp(): Promise<void> {
    const cfg = this.cfg;
    if (!cfg.data?.train) throw new UserError('the config has no training data: add data.train (a dataset with a source and a pipeline)');
    const configDir = path.dirname(this.runDir.runInfo.config);
    const shard = this.world ? { rank: this.world.rank, size: this.world.size } : undefined;
    this.trainLoader = await openLoader({ dataset: cfg.data.train, data: cfg.data, split: 'train', seed: this.seed, configDir, shard });
    const info = { channels: this.trainLoader.channels, numClasses: this.trainLoader.numClasses };
    applyDataDefaults(this.options.rawConfig?.model, cfg.model, info, (m) => this.log(m));
    this.model = buildModel(cfg.model, { purpose: 'train', seed: this.seed });
    this.model.checkData?.(info);

    const accumulate = cfg.runner.accumulate_steps;
    // The last step of an epoch takes the batches left over, fewer than accumulate_steps (see run).
    this.itersPerEpoch = Math.ceil(this.trainLoader.batchesPerEpoch / accumulate);
    if (this.trainLoader.batchesPerEpoch < accumulate) {
      throw new UserError(`data.train gives ${this.trainLoader.batchesPerEpoch} batch(es) per epoch, fewer than runner.accumulate_steps (${accumulate}): lower the batch size or accumulate_steps`);
    }
    const { max_epochs, max_iters } = cfg.runner;
    if (!max_epochs && !max_iters) throw new UserError('set runner.max_epochs or runner.max_iters (or pass --max-iters)');
    let maxIters = Math.min(max_iters ?? Infinity, max_epochs ? max_epochs * this.itersPerEpoch : Infinity);
    if (this.options.maxItersCap) maxIters = Math.min(maxIters, this.options.maxItersCap);
    this.maxIters = maxIters;
    this.maxEpochs = Math.ceil(maxIters / this.itersPerEpoch);
    if (max_epochs && maxIters === max_epochs * this.itersPerEpoch) this.epochLimit = max_epochs;

    if (!cfg.optimizer) throw new UserError('the config has no optimizer: add `optimizer: {type: SGD, lr: 0.1}` (or AdamW, LARS)');
    const factory = registries.optimizer.build(cfg.optimizer, {}, 'optimizer') as OptimizerFactory;
    this.optimizer = factory(this.model.namedParameters());
    if (cfg.lr_schedule) this.schedule = registries.lr_schedule.build(cfg.lr_schedule, {}, 'lr_schedule') as LrSchedule;

    const status = this.options.status ?? new StatusLine();
    this.checkpointHook = new CheckpointHook(cfg.checkpoint);
    const hooks: Hook[] = [new LoggerHook(cfg.runner.log_interval, status, this.options.sinks ?? []), this.checkpointHook];
    const pipelines = await this.evalPipelines(configDir);
    if (pipelines.length) {
      this.evalHook = new EvalHook(pipelines, () => this.hooks);
      hooks.push(this.evalHook);
    }
    cfg.hooks.forEach((h, i) => hooks.push(registries.hook.build(h, {}, `hooks.${i}`) as Hook));
    hooks.push(...(this.model.hooks?.() ?? []));
    this.hooks = sortHooks(hooks);

    if (cfg.load_from) this.loadWeights(cfg.load_from);
    if (this.options.resumeFrom) this.resume(this.options.resumeFrom);
    if (this.world && cfg.runner.collective_timeout) this.world.setTimeout(cfg.runner.collective_timeout);
    if (this.world) this.broadcastState();
    const world = this.world;
    if (world && cfg.runner.sync_bn) setBatchNormSync((data) => world.allreduceSumSync(data));
    setRanks(world && { rank: world.rank, size: world.size, sum: (data) => world.allreduceSumSync(data) });
    this.lr = this.schedule(this.optimizer.baseLr, this.progress());
  }

  /**
   * Every rank starts from rank 0's weights and buffers (and optimizer state on resume): with the
   * same averaged gradients afterwards, parameters, momentum encoders and EMA copies stay identical.
   */
  private broadcastState(): void {
    const world = this.world!;
    const optState = this.optimizer.stateDict();
    const state = [...this.model.stateDict().values(), ...optState.values()];
    for (const v of state) {
      const data = v.dataSync().slice();
      world.bcast(data as ArrayBufferView, 0);
      if (world.rank !== 0 && v instanceof tf.Variable) v.assign(tf.tensor(data as Float32Array, v.shape, v.dtype));
    }
    this.optimizer.releaseStateDict(optState);
  }

  /**
   * Data-parallel: check that every rank ends with the same parameters (trained ones, momentum
   * encoders, EMA copies) and buffers, and say so. Buffers may differ by design: batch norm
   * statistics are per rank (as in PyTorch DDP without SyncBatchNorm).
   */
  async checkRanksAgree(): Promise<boolean> {
    const world = this.world;
    if (!world) return true;
    const params = new Map(this.model.namedParameters().map(([n, p]) => [n, p.variable as tf.Tensor]));
    const buffers = new Map<string, tf.Tensor>(this.model.namedBuffers());
    const slots = new Float32Array(2 * world.size);
    slots[world.rank] = stateFingerprint(params);
    slots[world.size + world.rank] = stateFingerprint(buffers);
    await world.allreduceSum(slots);
    const differing = (offset: number) => [...slots.subarray(offset, offset + world.size)].map((v, r) => (v === slots[offset] ? -1 : r)).filter((r) => r >= 0);
    const [p, b] = [differing(0), differing(world.size)];
    if (p.length) this.log(`warning: the parameters of ${p.map((r) => world.describe(r)).join(', ')} differ from rank 0's`);
    else this.log(`parameters identical on all ${world.size} ranks`);
    if (b.length) this.log(`buffers (batch-norm statistics, queues) of ${b.map((r) => world.describe(r)).join(', ')} differ from rank 0's: they are kept per rank; checkpoints hold rank 0's`);
    else if (buffers.size) this.log(`buffers identical on all ${world.size} ranks`);
    return p.length === 0;
  }

  private async evalPipelines(configDir: string): Promise<EvalPipelineRuntime[]> {
    const out: EvalPipelineRuntime[] = [];
    for (const [i, p] of this.cfg.eval_pipelines.entries()) {
      const split = p.split ?? (p.data ? undefined : 'val');
      const dataset = p.data ?? (split ? (dataSplit(this.cfg.data, split) as ComponentConfig | undefined) : undefined);
      if (!dataset) throw new UserError(`eval_pipelines.${i}: no dataset — data.${split} is not set; give the pipeline a split that exists in data, or its own data`);
      const name = p.name ?? split ?? `eval${i}`;
      const evaluators = p.evaluators.map((e, j) => registries.evaluator.build(e, {}, `eval_pipelines.${i}.evaluators.${j}`) as Evaluator);
      const loader = await openLoader({ dataset, data: this.cfg.data, split: name, seed: this.seed, configDir, ...loaderNeeds(evaluators) });
      this.evalLoaders.push(loader);
      out.push({ name, loader, evaluators, interval: p.interval });
    }
    return out;
  }

  private progress(): TrainProgress {
    return { iter: this.iter, epoch: this.epoch, maxIters: this.maxIters, itersPerEpoch: this.itersPerEpoch };
  }

  configLocation(path: string): Location | undefined {
    return this.options.origins && locate(this.options.origins, path, true)?.location;
  }

  /** Initialise weights from another run's checkpoint (`load_from`), reporting what did not match. */
  private loadWeights(source: string): void {
    let ckpt: CheckpointData;
    try {
      ckpt = loadCheckpoint(resolveCheckpoint(source));
    } catch (e) {
      throw e instanceof UserError ? errorAtConfigKey(this, 'load_from', `load_from: ${e.message}`, e) : e;
    }
    try {
      const { missing, unexpected } = this.model.loadStateDict(withPrefix(ckpt.tensors, 'model.'));
      this.log(`loaded weights from ${source}${missing.length ? `; not in the checkpoint (kept as initialised): ${missing.join(', ')}` : ''}${unexpected.length ? `; unused: ${unexpected.length} tensors` : ''}`);
    } catch (e) {
      if (!(e instanceof ShapeMismatchError)) throw e;
      const key = `model.${e.key}`;
      const foreign = ckpt.sources?.get(key);
      const named = foreign ? `"${foreign}" has shape [${e.fileShape}] (in the toolkit's layout, as "${key}")` : `"${key}" has shape [${e.fileShape}]`;
      throw errorAtConfigKey(this, 'load_from', `load_from: ${source}: ${named} but the model's is [${e.modelShape}]; the checkpoint was made for another model config`);
    } finally {
      disposeCheckpoint(ckpt);
    }
  }

  private resume(file: string): void {
    this.resumedFrom = file;
    const ckpt = loadCheckpoint(file);
    try {
      this.model.loadStateDict(withPrefix(ckpt.tensors, 'model.'), { strict: true });
      this.optimizer.loadStateDict(withPrefix(ckpt.tensors, 'optimizer.'));
      const meta = parseCheckpointMeta(file, ckpt.meta);
      this.iter = meta.iter;
      // A checkpoint of an epoch's end was written by its end-of-epoch hooks: resumed in that epoch
      // (past its last batch), they would run again (a second evaluation, a second metrics line).
      this.epoch = meta.epoch_done ? meta.epoch + 1 : meta.epoch;
      this.batchInEpoch = meta.epoch_done ? 0 : this.continueEpochAt(meta);
      for (const h of this.hooks) {
        if (meta.hooks?.[h.name] !== undefined) h.loadState?.(meta.hooks[h.name]);
        const t = withPrefix(ckpt.tensors, `hooks.${h.name}.`);
        if (t.size) h.loadTensors?.(t);
      }
      this.log(`resumed from ${file} at epoch ${this.epoch + 1}, iteration ${this.iter}${this.batchInEpoch ? ` (batch ${this.batchInEpoch} of the epoch)` : ''}`);
    } finally {
      disposeCheckpoint(ckpt);
    }
  }

  /**
   * The batch of the epoch to continue at. A checkpoint written by another number of ranks (or
   * another batch size) counts its position in samples: all ranks' batches so far covered the
   * first `samples_in_epoch` samples of the epoch's order, whatever the world size.
   */
  private continueEpochAt(meta: CheckpointMeta): number {
    const size = this.world?.size ?? 1;
    const perStep = this.trainLoader.batchSize * size;
    if (meta.samples_in_epoch === undefined || meta.samples_in_epoch === meta.batch_in_epoch * perStep) return meta.batch_in_epoch;
    const batch = Math.floor(meta.samples_in_epoch / perStep);
    this.log(`the checkpoint was written by ${meta.world_size ?? 1} rank(s) at sample ${meta.samples_in_epoch} of the epoch; continuing at batch ${batch} of ${this.trainLoader.batchSize} x ${size} rank(s)`);
    return batch;
  }

  saveCheckpoint(name: string): string {
    const file = this.runDir.checkpointFile(name);
    const tensors = new Map<string, tf.Tensor>();
    for (const [k, v] of this.model.stateDict()) tensors.set(`model.${k}`, v);
    const optState = this.optimizer.stateDict();
    for (const [k, v] of optState) tensors.set(`optimizer.${k}`, v);
    const hooks: Record<string, unknown> = {};
    for (const h of this.hooks) {
      const s = h.state?.();
      if (s !== undefined) hooks[h.name] = s;
      for (const [k, v] of h.tensors?.() ?? []) tensors.set(`hooks.${h.name}.${k}`, v);
    }
    const meta: CheckpointMeta = {
      iter: this.iter,
      epoch: this.epoch,
      batch_in_epoch: this.batchInEpoch,
      world_size: this.world?.size ?? 1,
      samples_in_epoch: this.batchInEpoch * this.trainLoader.batchSize * (this.world?.size ?? 1),
      ...(this.epochDone ? { epoch_done: true } : {}),
      seed: this.seed,
      hooks,
      config: this.config,
      saved: new Date().toISOString(),
    };
    saveCheckpoint(file, tensors, meta);
    this.optimizer.releaseStateDict(optState);
    return file;
  }

  private async callHooks(stage: 'beforeRun' | 'beforeEpoch' | 'beforeIter' | 'afterEpoch'): Promise<void> {
    if (stage === 'afterEpoch') await this.cacheStateOnCpu();
    for (const h of this.hooks) await h[stage]?.(this);
  }

  /** Before hooks that write checkpoints (synchronously): the webgpu engine reads tensors only asynchronously. */
  private async cacheStateOnCpu(): Promise<void> {
    if (!syncReadsUnsupported()) return;
    const optState = this.optimizer.stateDict();
    await cacheOnCpu([...this.model.stateDict().values(), ...optState.values(), ...this.hooks.flatMap((h) => [...(h.tensors?.() ?? [])].map(([, t]) => t))]);
    this.optimizer.releaseStateDict(optState);
  }

  /** Run to the end (or until stopped). Returns the final status; throws on failures. */
  async run(): Promise<RunStatus> {
    const cfg = this.cfg;
    const accumulate = cfg.runner.accumulate_steps;
    await this.callHooks('beforeRun');
    let status: RunStatus = 'finished';
    try {
      while (this.iter < this.maxIters && this.epoch < this.epochLimit && !this.stopRequested) {
        this.finalEpoch = this.epoch + 1 >= this.maxEpochs;
        this.model.train();
        await this.callHooks('beforeEpoch');
        const iterator = this.trainLoader.epoch(this.epoch, this.batchInEpoch)[Symbol.asyncIterator]();
        let stepStart = performance.now();
        let dataSeconds = 0;
        let pending: TensorBatch[] = [];
        while (this.iter < this.maxIters && !this.stopRequested) {
          const waitStart = performance.now();
          const next = await iterator.next();
          dataSeconds += (performance.now() - waitStart) / 1000;
          if (!next.done) {
            pending.push(toTensors(next.value));
            // The loader's place in the epoch, not a count of batches received: a batch left out
            // whole (data.skip_corrupt) is not yielded, and counting would resume a batch too early.
            this.batchInEpoch = (next.value.batchIndex ?? this.batchInEpoch) + 1;
            // The epoch's last batches, fewer than accumulate_steps, make one smaller step (their
            // mean, as mmcv's GradientCumulativeOptimizerHook steps on its remainder): no batch of
            // the epoch is left out.
            if (pending.length < accumulate && this.batchInEpoch < this.trainLoader.batchesPerEpoch) continue;
          } else {
            // Every batch of the epoch is behind us, the last ones possibly left out whole.
            this.batchInEpoch = this.trainLoader.batchesPerEpoch;
            if (!pending.length) break;
          }
          await this.callHooks('beforeIter');
          const out = await this.step(pending);
          pending.forEach(disposeTensors);
          pending = [];
          const now = performance.now();
          this.iter++;
          const result: IterOutput = { ...out, seconds: (now - stepStart) / 1000, dataSeconds };
          for (const h of this.hooks) await h.afterIter?.(this, result);
          if (this.iter % cfg.runner.log_interval === 0 || this.iter === this.maxIters) this.runDir.update({ iter: this.iter, epoch: this.epoch + 1, last_loss: out.loss });
          this.lr = this.schedule(this.optimizer.baseLr, this.progress());
          // Let the event loop turn: with in-memory data nothing above waits on I/O, and SIGINT's
          // handler (stop with a last checkpoint) would never run.
          await new Promise<void>((resolve) => setImmediate(resolve));
          stepStart = performance.now();
          dataSeconds = 0;
          if (next.done) break;
        }
        pending.forEach(disposeTensors);
        await iterator.return?.();
        this.reportSkipped();
        if (this.stopRequested) {
          await this.cacheStateOnCpu();
          this.checkpointHook.saveNow(this, false);
          // Where the checkpoint is, not the last log interval: what the Runs view shows of a stopped run.
          this.runDir.update({ iter: this.iter, epoch: this.epoch + 1 });
          status = 'stopped';
          this.log(`stopped (${this.stopReason}) at epoch ${this.epoch + 1}, iteration ${this.iter}: ${checkpointName(CHECKPOINTS.latest)} — continue with \`cvw train --resume ${this.runDir.runPath}\``);
          break;
        }
        this.finalEpoch = this.iter >= this.maxIters || this.epoch + 1 >= this.epochLimit;
        // All batches consumed, not a run cut short by max_iters.
        this.epochDone = this.batchInEpoch >= this.trainLoader.batchesPerEpoch;
        await this.callHooks('afterEpoch');
        this.epochDone = false;
        this.epoch++;
        this.batchInEpoch = 0;
      }
    } catch (err) {
      status = 'failed';
      await this.finish(status);
      throw err;
    }
    await this.finish(status);
    return status;
  }

  private reportSkipped(): void {
    const skipped = this.trainLoader.skipped();
    if (!skipped.length) return;
    this.log(`skipped ${skipped.length} unreadable item(s) this epoch (data.skip_corrupt): ${skipped.slice(0, 5).map((s) => `${s.where}: ${s.reason}`).join('; ')}${skipped.length > 5 ? '; ...' : ''}`);
    this.writeMetrics({ split: 'train', skipped_items: skipped.length });
  }

  private async finish(status: RunStatus): Promise<void> {
    await this.cacheStateOnCpu();
    for (const h of this.hooks) await h.afterRun?.(this, status);
    this.runDir.update({ metrics: this.evalHook?.lastMetrics, best: this.checkpointHook.best });
  }

  /** One optimizer step over `batches` (gradient accumulation when more than one). */
  private async step(batches: TensorBatch[]): Promise<{ loss: number; logs: Record<string, number>; samples: number; lr: number }> {
    seedStep(this.seed, this.iter, this.world?.rank ?? 0);
    const vars = this.model.trainableVariables();
    const k = batches.length;
    let summed: Record<string, tf.Tensor> | undefined;
    let lossSum = 0;
    const logSums: Record<string, number> = {};
    const progress = this.progress();
    for (const batch of batches) {
      const kept: Record<string, tf.Scalar> = {};
      const { value, grads } = tf.variableGrads(() => {
        const out = this.model.trainStep(batch, progress);
        for (const [name, t] of Object.entries(out.logs ?? {})) kept[name] = tf.keep(t);
        return k > 1 ? (tf.div(out.loss, k) as tf.Scalar) : out.loss;
      }, vars);
      // Asynchronous reads: the webgpu engine has no synchronous one (and on the others they cost the same).
      const loss = (await value.data())[0] * k;
      for (const [name, t] of Object.entries(kept)) logSums[name] = (logSums[name] ?? 0) + (await t.data())[0];
      // Disposed after every read: a log may be the loss itself (a segmentation model without an auxiliary head).
      value.dispose();
      for (const t of Object.values(kept)) t.dispose();
      if (!Number.isFinite(loss)) {
        for (const g of Object.values(grads)) g?.dispose();
        if (summed) for (const g of Object.values(summed)) g.dispose();
        if (this.world) {
          // The other ranks learn it from this step's statistics and stop with this one.
          lossSum = loss;
          summed = undefined;
          break;
        }
        throw new NonFiniteLossError(this.iter + 1, this.epoch + 1, loss, this.lr, '', this.checkpointed());
      }
      lossSum += loss;
      if (!summed) summed = grads as Record<string, tf.Tensor>;
      else {
        for (const [name, g] of Object.entries(grads)) {
          if (!g) continue;
          const prev = summed[name];
          summed[name] = prev ? tf.add(prev, g) : g.clone();
          prev?.dispose();
          g.dispose();
        }
      }
    }
    let samples = batches.reduce((n, b) => n + batchSize(b.raw), 0);
    let loss = lossSum / k;
    const logs: Record<string, number> = {};
    for (const [name, v] of Object.entries(logSums)) logs[name] = v / k;
    if (this.world) {
      const agreed = await this.agreeOnStep(loss, logs, samples);
      samples = agreed.samples;
      loss = agreed.loss;
      const averaged = await averageGradients(this.world, summed!, vars, this.allreduce);
      for (const g of Object.values(summed!)) g.dispose();
      summed = averaged;
    }
    let grads = summed!;
    if (this.cfg.runner.grad_clip) {
      const { max_norm: maxNorm, per } = this.cfg.runner.grad_clip;
      const clipped = per === 'parameter' ? clipPerParameter(grads, maxNorm) : clipByGlobalNorm(grads, maxNorm);
      for (const g of Object.values(grads)) g.dispose();
      grads = clipped;
    }
    this.optimizer.step(grads, this.lr);
    for (const g of Object.values(grads)) g.dispose();
    return { loss, logs, samples, lr: this.lr };
  }

  /**
   * Data-parallel: one small allreduce before the gradients' carries every rank's loss (its own
   * slot, so a non-finite one is pinned on its rank), the logged values, the samples and stop
   * wishes. Every rank then decides the same: fail together, stop together, log the mean.
   */
  private async agreeOnStep(loss: number, logs: Record<string, number>, samples: number): Promise<{ loss: number; samples: number }> {
    const world = this.world!;
    const names = Object.keys(logs).sort();
    const stats = new Float32Array(world.size + names.length + 2);
    stats[world.rank] = loss;
    names.forEach((n, i) => (stats[world.size + i] = logs[n]));
    stats[world.size + names.length] = samples;
    stats[world.size + names.length + 1] = this.stopWish !== undefined ? 1 : 0;
    await world.allreduceSum(stats);
    const bad = [...stats.subarray(0, world.size)].map((v, r) => (Number.isFinite(v) ? -1 : r)).filter((r) => r >= 0);
    if (bad.length) {
      const where = ` on ${bad.map((r) => world.describe(r)).join(', ')}`;
      throw new NonFiniteLossError(this.iter + 1, this.epoch + 1, stats[bad[0]], this.lr, where, this.checkpointed());
    }
    names.forEach((n, i) => (logs[n] = stats[world.size + i] / world.size));
    if (stats[world.size + names.length + 1] > 0) this.stopReason ??= this.stopWish ?? 'a stop asked for on another rank';
    let sum = 0;
    for (let r = 0; r < world.size; r++) sum += stats[r];
    return { loss: sum / world.size, samples: stats[world.size + names.length] };
  }

  /** The run has a checkpoint to resume from (on rank 0's disk; other ranks check their copy of the path). */
  private checkpointed(): boolean {
    return fs.existsSync(checkpointFile(this.runDir.runPath, CHECKPOINTS.latest));
  }

  /**
   * Close the data loaders and free the model and optimizer, also after a partial set-up; every
   * loader is closed even when one fails. `engineBroken`: the engine aborted
   * (the wasm heap ran out) and cannot be called again, so its tensors are left to the process:
   * freeing them read the dead heap ("memory access out of bounds") over the message that said why.
   */
  async close(engineBroken = false): Promise<void> {
    setBatchNormSync(undefined);
    const loaders = [this.trainLoader, ...this.evalLoaders].filter((l) => l !== undefined);
    this.evalLoaders = [];
    const closed = await Promise.allSettled(loaders.map((l) => l.close()));
    if (!engineBroken) {
      this.optimizer?.dispose();
      this.model?.dispose();
    }
    const failed = closed.find((c) => c.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

export type { CheckpointData };
