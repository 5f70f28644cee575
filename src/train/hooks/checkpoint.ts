/**
 * Checkpoints: `latest` after every epoch, `epoch_N` every `interval` epochs (the oldest pruned
 * beyond `keep`), and `best` whenever the `save_best` metric improves. epoch_N and best are hard
 * links to the latest file, so each costs one write; every file appears by an atomic rename.
 */
import * as fs from 'node:fs';
import type { z } from 'zod';
import { CHECKPOINTS, checkpointName, linkAtomic, type RunInfo } from '../../rundir';
import type { checkpointSchema } from '../configSections';
import { PRIORITY, type Hook, type RunnerApi } from '../hook';

export type CheckpointHookConfig = z.output<typeof checkpointSchema>;

/** The best value of `save_best` so far, as run.json records it. */
export type BestMetric = NonNullable<RunInfo['best']>;

export class CheckpointHook implements Hook {
  readonly name = 'CheckpointHook';
  readonly priority = PRIORITY.low;
  best?: BestMetric;
  private improved = false;
  private saved: number[] = [];

  constructor(private readonly cfg: CheckpointHookConfig) {}

  afterEval(r: RunnerApi, metrics: Record<string, number>): void {
    const key = this.cfg.save_best;
    if (!key) return;
    const value = metrics[key] ?? metrics[Object.keys(metrics).find((k) => k.endsWith('/' + key)) ?? ''];
    if (value === undefined || !Number.isFinite(value)) return;
    const better = !this.best || (this.cfg.rule === 'greater' ? value > this.best.value : value < this.best.value);
    if (better) {
      this.best = { metric: key, value, iter: r.iter, epoch: r.epoch + 1 };
      this.improved = true;
    }
  }

  afterEpoch(r: RunnerApi): void {
    this.saveNow(r, (r.epoch + 1) % this.cfg.interval === 0);
  }

  /** Write latest (and epoch_N / best as due). Also called when a run stops or ends mid-epoch. */
  saveNow(r: RunnerApi, epochCheckpoint: boolean): void {
    // epoch_N is listed (and the oldest dropped) before the save, so that the checkpoint's own state
    // names it: a run resumed from it goes on at the next epoch and prunes epoch_N in its turn.
    const n = r.epoch + 1;
    if (epochCheckpoint) this.saved.push(n);
    const pruned = epochCheckpoint && this.cfg.keep > 0 ? this.saved.splice(0, Math.max(0, this.saved.length - this.cfg.keep)) : [];
    const latest = r.saveCheckpoint(CHECKPOINTS.latest);
    if (epochCheckpoint) {
      linkAtomic(latest, r.runDir.checkpointFile(CHECKPOINTS.epoch(n)));
      for (const old of pruned) fs.rmSync(r.runDir.checkpointFile(CHECKPOINTS.epoch(old)), { force: true });
    }
    if (this.improved && this.best) {
      linkAtomic(latest, r.runDir.checkpointFile(CHECKPOINTS.best));
      r.runDir.update({ best: this.best });
      r.log(`new best ${this.best.metric} = ${this.best.value.toFixed(4)} (epoch ${this.best.epoch}, iter ${this.best.iter}): ${checkpointName(CHECKPOINTS.best)}`);
      this.improved = false;
    }
  }

  /**
   * A run killed between writing latest and linking it as best left best.safetensors an older
   * one: the checkpoint that holds a new best (its state says so, as saved before the link)
   * becomes best when a run resumes from it.
   */
  beforeRun(r: RunnerApi): void {
    if (!this.improved || !this.best || !r.resumedFrom) return;
    linkAtomic(r.resumedFrom, r.runDir.checkpointFile(CHECKPOINTS.best));
    r.runDir.update({ best: this.best });
    this.improved = false;
  }

  state(): unknown {
    return { best: this.best, saved: this.saved, ...(this.improved ? { best_pending: true } : {}) };
  }

  loadState(state: unknown): void {
    const s = state as { best?: BestMetric; saved?: number[]; best_pending?: boolean };
    this.best = s.best;
    this.saved = s.saved ?? [];
    this.improved = s.best_pending === true;
  }
}
