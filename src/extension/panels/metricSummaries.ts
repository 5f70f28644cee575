/**
 * The runs table's metric summaries (final and best value of each metric), one per run, kept up to
 * date from what its metrics.jsonl appends. A running run appends a line and rewrites run.json
 * every `log_interval` iterations, and each change re-reads its row: reading the whole file each
 * time made a run of a million lines cost seconds of the extension host per change. Each run's
 * file is followed from where the last read stopped (follow.ts), and read again from its start only
 * when it was rewritten (a resumed run drops the lines after its checkpoint) or removed.
 */
import * as path from 'node:path';
import { MetricsFollower, runFile } from '../../rundir';
import { MetricKeys } from '../../report/model/metrics';
import { summarizeMetrics, type MetricSummary } from './runsTableModel';

/** Bytes of metrics.jsonl summarised per read. */
const READ_BYTES = 4 << 20;

/** Bytes of metrics.jsonl the reads of one turn of the event loop may take, over all runs read in it. */
export interface ReadBudget {
  bytes: number;
}

export class MetricSummaries {
  private readonly runs = new Map<string, { follower: MetricsFollower; summary: MetricSummary; keys: MetricKeys }>();

  /** Run `dir`'s summary now (reading only what its metrics.jsonl appended since the last call). Throws when the file cannot be read. */
  of(dir: string): MetricSummary {
    return this.read(dir, { bytes: Infinity }).summary;
  }

  /**
   * Run `dir`'s summary as far as `budget` lets it read (what it reads is taken off the budget);
   * `more` when the file holds more than that: call again, on a later turn, to read on. A table
   * of runs with hundreds of MB of metrics so never holds the extension host for seconds.
   */
  read(dir: string, budget: ReadBudget): { summary: MetricSummary; more: boolean } {
    const key = path.resolve(dir);
    let run = this.runs.get(key);
    if (!run) this.runs.set(key, (run = { follower: new MetricsFollower(runFile(key, 'metrics')), summary: { final: {}, best: {} }, keys: new MetricKeys() }));
    let more = false;
    try {
      // A few MiB of records at a time: the summary needs no more than one batch in memory.
      do {
        if (budget.bytes <= 0) return { summary: run.summary, more: true };
        const from = run.follower.position;
        const read = run.follower.read(Math.min(READ_BYTES, budget.bytes));
        if (read.reset) Object.assign(run, { summary: { final: {}, best: {} }, keys: new MetricKeys() });
        summarizeMetrics(read.records, run.summary, run.keys);
        budget.bytes -= read.reset ? run.follower.position : run.follower.position - from;
        more = read.more === true;
      } while (more);
    } catch (e) {
      this.runs.delete(key);
      throw e;
    }
    return { summary: run.summary, more };
  }

  /** Forget run `dir` (gone from the table). */
  forget(dir: string): void {
    this.runs.delete(path.resolve(dir));
  }

  /** Forget every run: the next `of` reads each file whole. */
  clear(): void {
    this.runs.clear();
  }
}
