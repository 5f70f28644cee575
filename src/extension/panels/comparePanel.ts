/**
 * Compare runs: their curves overlaid (a line per run, a chart per metric), a table of final
 * metrics and of the config keys in which they differ. Opened with several runs selected in the
 * Runs view (`cvWorkbench.compareRuns`); one panel per set of runs; follows them live.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { toMetricTables } from '../../report/model/metrics';
import type { RunSnapshot } from '../../report/model/run';
import { readRunSnapshot, readRunSummary } from '../../report/runFiles';
import { DEFAULT_CHART_SETTINGS, HostMessageType, PanelKind, VIEW_TYPES, isPanelState, type CompareState } from '../protocol';
import { PanelBase, webviewOptions } from './panelBase';
import type { PanelContext } from './panelContext';

const keyOf = (dirs: readonly string[]) => [...dirs].sort().join('\n');

export class ComparePanel extends PanelBase<CompareState> {
  private static readonly open = new Map<string, ComparePanel>();

  private constructor(panel: vscode.WebviewPanel, ctx: PanelContext, state: CompareState) {
    super(panel, ctx, PanelKind.Compare, state, state.dirs);
    ComparePanel.open.set(keyOf(state.dirs), this);
  }

  static createOrShow(ctx: PanelContext, dirs: readonly string[]): ComparePanel {
    const resolved = [...new Set(dirs.map((d) => path.resolve(d)))];
    const existing = ComparePanel.open.get(keyOf(resolved));
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const title = `Compare ${resolved.length} runs`;
    const panel = vscode.window.createWebviewPanel(VIEW_TYPES[PanelKind.Compare], title, vscode.ViewColumn.Active, webviewOptions(ctx, resolved));
    return new ComparePanel(panel, ctx, { kind: PanelKind.Compare, dirs: resolved, chart: DEFAULT_CHART_SETTINGS });
  }

  static revive(panel: vscode.WebviewPanel, ctx: PanelContext, state: unknown): ComparePanel | undefined {
    const s = state as CompareState;
    if (!isPanelState(state, PanelKind.Compare) || !Array.isArray(s.dirs) || !s.dirs.length) {
      panel.dispose();
      return undefined;
    }
    return new ComparePanel(panel, ctx, { ...s, dirs: s.dirs.map((d) => path.resolve(d)), chart: { ...DEFAULT_CHART_SETTINGS, ...s.chart } });
  }

  static panels(): ComparePanel[] {
    return [...ComparePanel.open.values()];
  }

  protected onReady(): void {
    const runs = this.ctx.runs?.();
    const dirs = this.state.dirs;
    if (!runs) {
      this.post({ type: HostMessageType.CompareRuns, runs: dirs.map((d) => readRunSnapshot(d)) });
      return;
    }
    const snapshots = new Map<string, RunSnapshot>();
    let started = false;
    const stateOf = (dir: string) => runs.runs().find((r) => path.resolve(r.dir) === dir)?.state;
    for (const dir of dirs) {
      this.pageDisposables.push(
        runs.followMetrics(dir, ({ records, reset }) => {
          if (!started || reset) {
            snapshots.set(dir, readRunSnapshot(dir, { state: stateOf(dir), tables: toMetricTables(records) }));
            if (started) this.post({ type: HostMessageType.CompareRuns, runs: dirs.map((d) => snapshots.get(d) ?? readRunSnapshot(d, { tables: [] })) });
          } else if (records.length) {
            this.post({ type: HostMessageType.MetricsAppended, dir, tables: toMetricTables(records) });
          }
        }),
      );
    }
    started = true;
    this.post({ type: HostMessageType.CompareRuns, runs: dirs.map((d) => snapshots.get(d) ?? readRunSnapshot(d, { state: stateOf(d), tables: [] })) });
    this.pageDisposables.push(
      runs.onChange(({ kind, run }) => {
        const dir = path.resolve(run.dir);
        if (kind !== 'removed' && dirs.includes(dir)) this.post({ type: HostMessageType.RunSummary, summary: readRunSummary(dir, { state: run.state }) });
      }),
    );
  }

  protected onDispose(): void {
    const key = keyOf(this.state.dirs);
    if (ComparePanel.open.get(key) === this) ComparePanel.open.delete(key);
  }
}
