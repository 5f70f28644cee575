/**
 * A run's data as protocol messages, for as long as its panel is open: subscribed once to the
 * runs watcher's incremental follower of metrics.jsonl (never re-reading the file), keeping the
 * rows as columnar tables, so that a page that (re)loads — shown again after being hidden, a
 * window reload — gets a snapshot at once, then each appended batch, a new snapshot when the file
 * was rewritten (a resumed run), and the summary when run.json changes. Without the watcher
 * (runs support not active) each snapshot reads the run from disk.
 */
import * as path from 'node:path';
import { concatTables, toMetricTables, type MetricTable } from '../../report/model/metrics';
import type { RunSnapshot } from '../../report/model/run';
import { readRunSnapshot, readRunSummary } from '../../report/runFiles';
import { HostMessageType, type HostMessage } from '../protocol';
import type { Disposable, RunsSource } from './panelContext';

export class RunFeed implements Disposable {
  readonly dir: string;
  private chunks: MetricTable[] = [];
  private listener?: (m: HostMessage) => void;
  private readonly subscriptions: Disposable[] = [];

  constructor(
    dir: string,
    private readonly runs: RunsSource | undefined,
  ) {
    this.dir = path.resolve(dir);
    if (!runs) return;
    let first = true;
    this.subscriptions.push(
      runs.followMetrics(this.dir, ({ records, reset }) => {
        const tables = toMetricTables(records);
        if (first || reset) {
          first = false;
          this.chunks = tables;
          if (reset) this.listener?.({ type: HostMessageType.RunSnapshot, run: this.snapshot() });
        } else if (records.length) {
          this.chunks.push(...tables);
          this.listener?.({ type: HostMessageType.MetricsAppended, dir: this.dir, tables });
        }
      }),
      runs.onChange(({ kind, run }) => {
        if (kind === 'removed' || path.resolve(run.dir) !== this.dir) return;
        this.listener?.({ type: HostMessageType.RunSummary, summary: readRunSummary(this.dir, { state: run.state }) });
      }),
    );
  }

  /** The run now: summary, config and every row so far. */
  snapshot(): RunSnapshot {
    if (!this.runs) return readRunSnapshot(this.dir);
    // Appends arrive as small tables: join them once here, so the next snapshot is cheap too.
    if (this.chunks.length > 1) this.chunks = concatTables(this.chunks);
    const state = this.runs.runs().find((r) => path.resolve(r.dir) === this.dir)?.state;
    return readRunSnapshot(this.dir, { state, tables: this.chunks });
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
