/**
 * The loader the trainer calls: opens a dataset's source, orders it for an epoch, and delivers
 * batches made by decoding workers, several batches ahead (`data.prefetch`), so that the training
 * step does not wait when decoding keeps up.
 *
 * Random choices derive from the config's seed only: the order from (seed, epoch), each view's
 * augmentation from (seed, epoch, index, view). So the same seed gives the same batches whatever
 * the number of workers, and a resumed run (`startBatch`) continues with exactly the batches an
 * uninterrupted one would have seen.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, registries } from '../core/registry';
import { randomFor } from '../core/random';
import { UserError } from '../core/problems';
import type { ComponentConfig } from '../core/schema';
import type { DataSectionConfig } from './configSection';
import type { DatasetPlan } from './datasets';
import { describeItemError, DataError } from './errors';
import { pipelineChannels } from './pipeline';
import { SamplePool } from './workers/pool';
import type { BatchResult, Failure, TaskItem } from './workers/protocol';
import type { Batch, DataSource, SourceItem } from './types';
import { shardLength, shardOrder } from '../distributed/sampler';

export interface Loader {
  /** Samples in the source (before skipping). */
  readonly length: number;
  readonly batchesPerEpoch: number;
  /** Samples per batch (the last one of an epoch may have fewer). */
  readonly batchSize: number;
  readonly classes?: string[];
  /** COCO category id of each class, when the source has them. */
  readonly categoryIds?: number[];
  readonly numClasses?: number;
  /** Channels of the first view after the pipeline. */
  readonly channels: number;
  epoch(epochIndex: number, startBatch?: number): AsyncIterable<Batch>;
  /** Items left out (with `data.skip_corrupt: true`): those found when opening and those of the last epoch. */
  skipped(): Array<{ where: string; reason: string }>;
  close(): Promise<void>;
}

export interface LoaderOptions {
  dataset: ComponentConfig;
  /** The resolved data section: workers, prefetch, skip_corrupt. */
  data: Pick<DataSectionConfig, 'workers' | 'prefetch' | 'skip_corrupt'>;
  split: string;
  seed: number;
  /** The config's folder: a relative path missing from the working directory is looked for there too. */
  configDir?: string;
  /** Data-parallel training: this rank's share of every epoch (src/distributed/sampler.ts). */
  shard?: { rank: number; size: number };
  /**
   * Segmentation datasets: also deliver each sample's mask as decoded (before the pipeline) and its
   * view-0 frame (`Batch.sourceMasks`, `Batch.frames`), for scoring at the source image's resolution.
   */
  sourceMasks?: boolean;
}

/** Resolve config paths against the working directory, then (when missing there) the config's folder. */
export function pathResolver(configDir?: string): (p: string) => string {
  return (p: string) => {
    const fromCwd = path.resolve(p);
    if (path.isAbsolute(p) || !configDir || fs.existsSync(fromCwd)) return fromCwd;
    const fromConfig = path.resolve(configDir, p);
    return fs.existsSync(fromConfig) ? fromConfig : fromCwd;
  };
}

export async function createLoader(options: LoaderOptions): Promise<Loader> {
  // Defaults for callers that pass a partial section (the schema's defaults otherwise).
  const opts = { ...options, data: { workers: options.data.workers ?? 2, prefetch: options.data.prefetch ?? 4, skip_corrupt: options.data.skip_corrupt ?? false } };
  const plan = build<DatasetPlan>('dataset', opts.dataset);
  const openSkipped: Array<{ where: string; reason: string }> = [];
  const source = await plan.source.open({
    split: opts.split,
    skipCorrupt: opts.data.skip_corrupt,
    skip: (where, reason) => openSkipped.push({ where, reason }),
    resolvePath: pathResolver(opts.configDir),
  });
  if (source.length === 0) throw new UserError(`the ${opts.split} dataset is empty`);
  const modules = [...new Set(plan.views.flatMap((v) => v.steps.map((s) => registries.pipeline.get(s.type))).filter((e) => e && !e.builtin && e.sourceFile).map((e) => e!.sourceFile!))];
  let pool: SamplePool;
  try {
    pool = await SamplePool.create(opts.data.workers, {
      views: plan.views.map((v) => v.steps),
      shared: plan.shared?.steps,
      channels: source.channels,
      seed: opts.seed,
      withBoxes: plan.withBoxes,
      withMasks: plan.withMasks,
      withSourceMasks: !!(plan.withMasks && opts.sourceMasks),
      withLabels: !plan.withBoxes && !plan.withMasks,
      modules,
    });
  } catch (err) {
    source.close?.();
    throw err instanceof UserError ? err : new UserError(`cannot start the decoding workers: ${(err as Error).message}`);
  }
  return new DatasetLoader(plan, source, pool, opts, openSkipped);
}

class DatasetLoader implements Loader {
  readonly length: number;
  readonly batchesPerEpoch: number;
  readonly classes?: string[];
  readonly categoryIds?: number[];
  readonly numClasses?: number;
  readonly channels: number;
  readonly batchSize: number;
  private readonly shuffle: boolean;
  /** Other samples the mixing steps of view 0 (Mosaic, MixUp) take per sample. */
  private readonly mixImages: number;
  private epochSkipped: Array<{ where: string; reason: string }> = [];
  /** Samples this process reads per epoch (its shard's, in data-parallel training). */
  private readonly epochLength: number;

  constructor(
    plan: DatasetPlan,
    private readonly source: DataSource,
    private readonly pool: SamplePool,
    private readonly opts: LoaderOptions,
    private readonly openSkipped: Array<{ where: string; reason: string }>,
  ) {
    const train = opts.split === 'train';
    this.length = source.length;
    this.batchSize = plan.batchSize;
    this.shuffle = plan.shuffle ?? train;
    this.epochLength = opts.shard ? shardLength(source.length, opts.shard.size) : source.length;
    const dropLast = (plan.dropLast ?? train) && this.epochLength >= plan.batchSize;
    this.batchesPerEpoch = dropLast ? Math.floor(this.epochLength / plan.batchSize) : Math.ceil(this.epochLength / plan.batchSize);
    this.classes = source.classes;
    this.categoryIds = source.categoryIds;
    this.numClasses = source.classes?.length;
    this.channels = pipelineChannels(plan.views[0].pipeline, pipelineChannels(plan.shared?.pipeline ?? [], source.channels));
    this.mixImages = plan.views[0].pipeline.reduce((n, s) => n + (s.mixImages ?? 0), 0);
  }

  /** The sample order of an epoch. */
  order(epochIndex: number): Int32Array {
    const all = this.shuffle ? randomFor(this.opts.seed, epochIndex).permutation(this.length) : Int32Array.from({ length: this.length }, (_, i) => i);
    return this.opts.shard ? shardOrder(all, this.opts.shard.rank, this.opts.shard.size) : all;
  }

  async *epoch(epochIndex: number, startBatch = 0): AsyncGenerator<Batch> {
    const order = this.order(epochIndex);
    const skipped: Array<{ where: string; reason: string }> = [];
    this.epochSkipped = skipped;
    const depth = Math.max(1, this.opts.data.prefetch);
    const queue: Array<Promise<{ ok: true; value: BatchResult; b: number } | { ok: false; error: unknown }>> = [];
    let next = Math.max(0, startBatch);
    const submit = () => {
      const b = next++;
      const indices = order.subarray(b * this.batchSize, Math.min((b + 1) * this.batchSize, order.length));
      // Settled promises only: an error is rethrown in order, never as an unhandled rejection.
      queue.push(this.runBatch(epochIndex, indices).then((value) => ({ ok: true as const, value, b }), (error: unknown) => ({ ok: false as const, error })));
    };
    while (next < this.batchesPerEpoch && queue.length < depth) submit();
    while (queue.length) {
      const settled = await queue.shift()!;
      if (next < this.batchesPerEpoch) submit();
      if (!settled.ok) throw settled.error;
      const { batch, failures, fatal } = settled.value;
      if (fatal) throw new UserError(fatal);
      if (failures.length) {
        if (!this.opts.data.skip_corrupt) {
          const f = failures[0];
          const more = failures.length > 1 ? ` (and ${failures.length - 1} more bad item${failures.length > 2 ? 's' : ''} in this batch)` : '';
          throw new DataError(f.where, `${f.reason}${more}; set data.skip_corrupt: true to skip bad items and report them at the end of the epoch`);
        }
        for (const f of failures) skipped.push({ where: f.where, reason: f.reason });
      }
      if (!batch && this.opts.shard && this.opts.shard.size > 1) {
        // Each step's gradients are averaged over the ranks, so every rank must step on every
        // batch: one left out on this rank alone would pair the ranks' allreduces wrongly.
        const f = failures[0];
        throw new DataError(f.where, `${f.reason}; every item of this rank's batch ${settled.b + 1} is unreadable, and a data-parallel run cannot leave a batch out (the ranks step together): remove or fix the bad files (skip_corrupt leaves out bad items of a batch that has good ones)`);
      }
      if (batch) yield { ...batch, batchIndex: settled.b };
    }
  }

  /** Fetch the items of one batch (checking labels) and have a worker make the batch. */
  private async runBatch(epochIndex: number, indices: Int32Array): Promise<BatchResult> {
    const items: TaskItem[] = [];
    const failures: Failure[] = [];
    for (const index of indices) {
      let where = `item ${index}`;
      try {
        const it = await this.source.item(index);
        where = it.where;
        if (it.label !== undefined && this.numClasses !== undefined && (it.label < 0 || it.label >= this.numClasses || !Number.isInteger(it.label))) {
          throw new DataError(it.where, `label ${it.label} out of range: expected 0 to ${this.numClasses - 1} (${this.numClasses} classes)`);
        }
        items.push(await taskItem(this.source, index, it, { seed: this.opts.seed, epoch: epochIndex, mixImages: this.mixImages }));
      } catch (err) {
        if (!(err instanceof DataError) && !(err instanceof UserError)) throw err;
        failures.push({ index, ...describeItemError(err, where) });
      }
    }
    if (!items.length) return { failures };
    const res = await this.pool.run(epochIndex, items);
    return { ...res, failures: [...failures, ...res.failures].sort((a, b) => a.index - b.index) };
  }

  skipped(): Array<{ where: string; reason: string }> {
    return [...this.openSkipped, ...this.epochSkipped];
  }

  async close(): Promise<void> {
    await this.pool.close();
    this.source.close?.();
  }
}

/** A copy of the item's bytes in a buffer of their own, so it can be moved to a worker. */
/**
 * The task a worker makes a sample of from source item `it`: its bytes (copied out of the source's
 * buffers) and, for mixing steps (Mosaic, MixUp), its `mixImages` partners, which depend on (seed,
 * epoch, index) only, like its augmentation. `cvw data browse` makes its samples from these too.
 */
export async function taskItem(source: DataSource, index: number, it: SourceItem, mix: { seed: number; epoch: number; mixImages: number }): Promise<TaskItem> {
  const extras: NonNullable<TaskItem['extras']> = [];
  if (mix.mixImages) {
    const rng = randomFor(mix.seed, mix.epoch, index, 0x6d6978);
    for (let k = 0; k < mix.mixImages; k++) {
      const other = await source.item(rng.int(source.length));
      extras.push({ image: ownBytes(other.image), boxes: other.boxes, where: other.where });
    }
  }
  return { index, image: ownBytes(it.image), label: it.label, boxes: it.boxes, crowd: it.crowd, imageId: it.imageId, mask: it.mask && ownBytes(it.mask), reduceZeroLabel: it.reduceZeroLabel, where: it.where, extras: extras.length ? extras : undefined };
}

function ownBytes(image: TaskItem['image']): TaskItem['image'] {
  if (image.kind === 'encoded' && (image.bytes.byteOffset !== 0 || image.bytes.byteLength !== image.bytes.buffer.byteLength)) return { ...image, bytes: image.bytes.slice() };
  if (image.kind === 'pixels' && (image.data.byteOffset !== 0 || image.data.byteLength !== image.data.buffer.byteLength)) return { ...image, data: image.data.slice() };
  return image;
}
