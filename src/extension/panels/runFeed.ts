/**
 * A run's data as protocol messages, for as long as its panel is open: subscribed once to the
 * runs watcher's incremental follower of metrics.jsonl (never re-reading the file), keeping the
 * rows as columnar tables, so that a page that (re)loads — shown again after being hidden, a
 * window reload — gets a snapshot at once, then each appended batch, a new snapshot when the file
 * was rewritten (a resumed run), and the summary when run.json changes. Without the watcher
 * (runs support not active) each snapshot reads the run from disk.
 *
 * The rows kept are bounded (src/report/model/thinning.ts: a few thousand per split and kind of
 * row, evenly thinned, the newest always kept), whatever the run logs; appended batches go to the
 * page whole, and the page thins them the same way, continuing from the snapshot's state.
 */
import * as path from 'node:path';
import type { MetricTable } from '../../report/model/metrics';
import { MetricSplits } from '../../report/model/thinning';
import type { RunSnapshot } from '../../report/model/run';
import { readRunSnapshot, readRunSummary } from '../../report/runFiles';
import { HostMessageType, type HostMessage } from '../protocol';
import type { Disposable, RunsSource } from './panelContext';

export class RunFeed implements Disposable {
  readonly dir: string;
  private splits = new MetricSplits();
  private listener?: (m: HostMessage) => void;
  private readonly subscriptions: Disposable[] = [];

  constructor(
    dir: string,
    private readonly runs: RunsSource | undefined,
  ) {
    this.dir = path.resolve(dir);
    if (!runs) return;
    // Reading what the file held when followed or rewritten: its batches (several for a large
    // file, one per turn of the event loop) build the rows, and the page gets one snapshot at the
    // end (a page that loaded meanwhile got the rows so far), not a message per batch.
    let backlog = true;
    this.subscriptions.push(
      runs.followMetrics(this.dir, ({ records, reset, more }) => {
        if (reset) {
          backlog = true;
          this.splits = new MetricSplits();
        }
        if (backlog) {
          this.splits.appendRecords(records);
          if (more) return;
          backlog = false;
          this.listener?.({ type: HostMessageType.RunSnapshot, run: this.snapshot() });
        } else if (records.length) {
          const tables = this.splits.appendRecords(records);
          const leftOut = this.splits.leftOut;
          this.listener?.({ type: HostMessageType.MetricsAppended, dir: this.dir, tables, ...(leftOut ? { leftOut } : {}) });
        }
      }),
      runs.onChange(({ kind, run }) => {
        if (kind === 'removed' || path.resolve(run.dir) !== this.dir) return;
        this.listener?.({ type: HostMessageType.RunSummary, summary: readRunSummary(this.dir, { state: run.state }) });
      }),
    );
  }

  /** The run now: summary, config and the rows kept so far (with what was left out: `MetricTable.thinned`). */
  snapshot(): RunSnapshot {
    if (!this.runs) return readRunSnapshot(this.dir);
    const state = this.runs.runs().find((r) => path.resolve(r.dir) === this.dir)?.state;
    return readRunSnapshot(this.dir, { state, metrics: this.splits });
  }

  /** The rows kept, per split (copies). */
  tables(): MetricTable[] {
    return this.splits.tables();
  }

  /** Send to `listener` from now on (the page is ready); undefined stops. */
  attach(listener: ((m: HostMessage) => void) | undefined): void {
    this.listener = listener;
  }

  dispose(): void {
    this.listener = undefined;
    for (const s of this.subscriptions.splice(0)) s.dispose();
  }
}
