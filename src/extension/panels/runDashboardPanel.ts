/**
 * The run dashboard: one panel per run directory, live curves of its metrics. Opened by the
 * `cvWorkbench.openDashboard` command (the Runs view, the status bar, the palette); restored by
 * its serializer after a window reload from the state the page saved.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_CHART_SETTINGS, PanelKind, VIEW_TYPES, isPanelState, type DashboardState } from '../protocol';
import { chartSettingsFrom, workspaceRunDir } from './messageGuard';
import { PanelBase, webviewOptions, workspaceFolderPaths } from './panelBase';
import type { PanelContext } from './panelContext';
import { RunFeed } from './runFeed';
import { HostMessageType } from '../protocol';

function titleOf(dir: string): string {
  return `Run ${path.basename(path.dirname(dir))}/${path.basename(dir)}`;
}

export class RunDashboardPanel extends PanelBase<DashboardState> {
  private static readonly open = new Map<string, RunDashboardPanel>();
  private readonly feed: RunFeed;

  private constructor(panel: vscode.WebviewPanel, ctx: PanelContext, state: DashboardState) {
    super(panel, ctx, PanelKind.Dashboard, state, [state.dir]);
    RunDashboardPanel.open.set(state.dir, this);
    this.feed = new RunFeed(state.dir, ctx.runs?.());
    this.disposables.push(this.feed);
  }

  static createOrShow(ctx: PanelContext, dir: string): RunDashboardPanel {
    const resolved = path.resolve(dir);
    const existing = RunDashboardPanel.open.get(resolved);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPES[PanelKind.Dashboard], titleOf(resolved), vscode.ViewColumn.Active, webviewOptions(ctx, [resolved]));
    return new RunDashboardPanel(panel, ctx, { kind: PanelKind.Dashboard, dir: resolved, chart: DEFAULT_CHART_SETTINGS });
  }

  /**
   * After a reload: the state the page saved names the run and the chart settings. It is the
   * page's word, so the run must be a real run directory in the workspace (it becomes a
   * localResourceRoots entry); anything else closes the panel.
   */
  static revive(panel: vscode.WebviewPanel, ctx: PanelContext, state: unknown): RunDashboardPanel | undefined {
    const dir = isPanelState(state, PanelKind.Dashboard) ? workspaceRunDir((state as DashboardState).dir, workspaceFolderPaths()) : undefined;
    if (!dir) {
      panel.dispose();
      return undefined;
    }
    RunDashboardPanel.open.get(dir)?.dispose();
    return new RunDashboardPanel(panel, ctx, { kind: PanelKind.Dashboard, dir, chart: chartSettingsFrom((state as DashboardState).chart) });
  }

  /** The open dashboards (for tests). */
  static panels(): RunDashboardPanel[] {
    return [...RunDashboardPanel.open.values()];
  }

  get dir(): string {
    return this.state.dir;
  }

  protected onReady(): void {
    this.post({ type: HostMessageType.RunSnapshot, run: this.feed.snapshot() });
    this.feed.attach((m) => this.post(m));
  }

  protected shownRunDirs(): readonly string[] {
    return [this.state.dir];
  }

  protected onDispose(): void {
    if (RunDashboardPanel.open.get(this.state.dir) === this) RunDashboardPanel.open.delete(this.state.dir);
  }
}
