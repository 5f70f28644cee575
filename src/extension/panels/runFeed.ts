/**
 * A run's data as a stream of protocol messages: the snapshot first (everything metrics.jsonl
 * holds, through the runs watcher's incremental follower), then each appended batch as columnar
 * tables, a new snapshot when the file was rewritten (a resumed run), and the summary again when
 * run.json changes. Without the watcher (runs support not active), the run is read once.
 */
import * as path from 'node:path';
import { HostMessageType, type HostMessage } from '../protocol';
import { toMetricTables } from '../../report/model/metrics';
import { readRunSnapshot, readRunSummary } from '../../report/runFiles';
import type { Disposable, RunsSource } from './panelContext';

export function feedRun(dir: string, runs: RunsSource | undefined, post: (m: HostMessage) => void): Disposable[] {
  const resolved = path.resolve(dir);
  const stateOf = () => runs?.runs().find((r) => path.resolve(r.dir) === resolved)?.state;
  if (!runs) {
    post({ type: HostMessageType.RunSnapshot, run: readRunSnapshot(resolved) });
    return [];
  }
  let first = true;
  const metrics = runs.followMetrics(resolved, ({ records, reset }) => {
    if (first || reset) {
      first = false;
      post({ type: HostMessageType.RunSnapshot, run: readRunSnapshot(resolved, { state: stateOf(), tables: toMetricTables(records) }) });
    } else if (records.length) {
      post({ type: HostMessageType.MetricsAppended, dir: resolved, tables: toMetricTables(records) });
    }
  });
  if (first) {
    // A follower that delivers nothing until the file exists: show the run without metrics now.
    first = false;
    post({ type: HostMessageType.RunSnapshot, run: readRunSnapshot(resolved, { state: stateOf(), tables: [] }) });
  }
  const changes = runs.onChange(({ kind, run }) => {
    if (kind === 'removed' || path.resolve(run.dir) !== resolved) return;
    post({ type: HostMessageType.RunSummary, summary: readRunSummary(resolved, { state: run.state }) });
  });
  return [metrics, changes];
}
