/**
 * Compare runs: their curves overlaid (a line per run, a chart per metric), a table of final
 * metrics and of the config keys in which they differ, and what their evaluators wrote compared
 * class by class (src/report/model/classCompare.ts). Opened with several runs selected in the
 * Runs view (`cvWorkbench.compareRuns`); one panel per set of runs; follows them live.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readClassComparison } from '../../report/evalFiles';
import { realFileInside } from '../../report/insideDir';
import { DEFAULT_CHART_SETTINGS, HostMessageType, PanelKind, VIEW_TYPES, isPanelState, type CompareRunsMessage, type CompareState } from '../protocol';
import { chartSettingsFrom, workspaceRunDir } from './messageGuard';
import { PanelBase, webviewOptions, workspaceFolderPaths } from './panelBase';
import type { PanelContext } from './panelContext';
import { RunFeed } from './runFeed';

const keyOf = (dirs: readonly string[]) => [...dirs].sort().join('\n');

export class ComparePanel extends PanelBase<CompareState> {
  private static readonly open = new Map<string, ComparePanel>();
  private readonly feeds: RunFeed[];

  private constructor(panel: vscode.WebviewPanel, ctx: PanelContext, state: CompareState) {
    super(panel, ctx, PanelKind.Compare, state, state.dirs);
    ComparePanel.open.set(keyOf(state.dirs), this);
    const runs = ctx.runs?.();
    this.feeds = state.dirs.map((d) => new RunFeed(d, runs));
    this.disposables.push(...this.feeds);
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

  /** After a reload, from the page's saved state: the runs that are real run directories of the workspace, the others dropped. */
  static revive(panel: vscode.WebviewPanel, ctx: PanelContext, state: unknown): ComparePanel | undefined {
    const s = state as CompareState;
    const folders = workspaceFolderPaths();
    const saved: unknown[] = isPanelState(state, PanelKind.Compare) && Array.isArray(s.dirs) ? s.dirs : [];
    const dirs = [...new Set(saved.map((d) => workspaceRunDir(d, folders)).filter((d): d is string => d !== undefined))];
    if (!dirs.length) {
      panel.dispose();
      return undefined;
    }
    return new ComparePanel(panel, ctx, { kind: PanelKind.Compare, dirs, chart: chartSettingsFrom(s.chart) });
  }

  static panels(): ComparePanel[] {
    return [...ComparePanel.open.values()];
  }

  protected onReady(): void {
    this.post(this.compareMessage());
    for (const f of this.feeds) {
      f.attach((m) => {
        // A rewritten metrics.jsonl (a resumed run): the comparison starts again from snapshots.
        if (m.type === HostMessageType.RunSnapshot) this.post(this.compareMessage());
        else this.post(m);
        // An evaluation row: the evaluators have just rewritten eval/ (they write before the row is logged).
        if (m.type === HostMessageType.MetricsAppended && m.tables.some((t) => t.split !== 'train')) this.classesSoon();
      });
    }
  }

  private classesTimer: ReturnType<typeof setTimeout> | undefined;
  private sentClasses = '';

  /** Re-read the runs' evaluations after a burst of evaluation rows; send them again only when they changed. */
  private classesSoon(): void {
    if (this.classesTimer) return;
    this.classesTimer = setTimeout(() => {
      this.classesTimer = undefined;
      const before = this.sentClasses;
      const m = this.compareMessage();
      if (this.sentClasses !== before) this.post(m);
    }, 1000);
  }

  private compareMessage(): CompareRunsMessage {
    const webview = this.panel.webview;
    const classes = readClassComparison(this.state.dirs, {
      imageUri: (dir, rel) => (realFileInside(dir, rel) ? webview.asWebviewUri(vscode.Uri.file(path.resolve(dir, rel))).toString() : undefined),
    });
    this.sentClasses = JSON.stringify(classes);
    return { type: HostMessageType.CompareRuns, runs: this.feeds.map((f) => f.snapshot()), classes };
  }

  protected shownRunDirs(): readonly string[] {
    return this.state.dirs;
  }

  protected onDispose(): void {
    if (this.classesTimer) clearTimeout(this.classesTimer);
    const key = keyOf(this.state.dirs);
    if (ComparePanel.open.get(key) === this) ComparePanel.open.delete(key);
  }
}
