/**
 * The Runs view (activity bar): every run under the workspace's `work_dirs`, grouped by config,
 * with status, start, duration, last loss and best metric; actions in its context menu and inline.
 * What the rows say is decided by runsTreeModel.ts; this is its VS Code adapter.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunRecord } from '../../rundir';
import { RUN_ICONS, runClickCommand, runContextValue, runTooltipRows, RunsTreeModel, type RunsNode } from './runsTreeModel';
import { QUEUE_ICONS, queueEntryRow, queueGroupRow } from './queueTreeModel';
import type { QueueController } from './queue';
import { codeSpan, escapeMarkdown } from '../../core/markdown';
import type { RunsService } from './service';

export type { RunsNode } from './runsTreeModel';

function tooltip(run: RunRecord): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escapeMarkdown(run.group)} / ${escapeMarkdown(path.basename(run.dir))}** — ${run.state}\n\n`);
  md.appendMarkdown(runTooltipRows(run).map(([k, v]) => `- ${escapeMarkdown(k)}: ${codeSpan(v)}`).join('\n'));
  return md;
}

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private pending: NodeJS.Timeout | undefined;
  private readonly ticker: NodeJS.Timeout;
  private readonly subscription: vscode.Disposable;
  private readonly model: RunsTreeModel;
  private readonly queueSubscription: vscode.Disposable | undefined;

  /** `dashboard`: the panels' dashboard is registered (a click on a run opens it). `queue`: the run queue, shown first. */
  constructor(
    service: RunsService,
    private readonly dashboard: boolean,
    private readonly queue?: QueueController,
  ) {
    this.model = new RunsTreeModel(service, queue);
    this.subscription = service.onDidChangeRuns(() => this.refreshSoon());
    this.queueSubscription = queue?.onDidChange(() => this.refresh());
    // Durations of running runs move on by themselves.
    this.ticker = setInterval(() => {
      if (this.model.anyRunning()) this.refreshSoon();
    }, 5000);
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  private refreshSoon(): void {
    if (this.pending) return;
    // At most one redraw a second: a running run changes every iteration, and a row redrawn under
    // the pointer can swallow a click on its inline actions (Stop, Dashboard).
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.refresh();
    }, 1000);
  }

  runNode(dir: string): RunsNode {
    return this.model.runNode(dir);
  }

  getChildren(node?: RunsNode): RunsNode[] {
    return this.model.children(node);
  }

  getParent(node: RunsNode): RunsNode | undefined {
    return this.model.parent(node);
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (node.kind === 'queue' || node.kind === 'queued') return this.queueItem(node);
    if (node.kind === 'group') {
      const row = this.model.groupRow(node.group);
      const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `group:${node.group}`;
      item.description = row.description;
      item.iconPath = new vscode.ThemeIcon('folder-library');
      item.contextValue = 'cvwRunGroup';
      if (row.config) item.tooltip = row.config;
      return item;
    }
    const { label, run, description } = this.model.runRow(node.dir);
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.id = `run:${node.dir}`;
    item.description = description;
    if (!run) return item;
    item.tooltip = tooltip(run);
    const { icon, color } = RUN_ICONS[run.state];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = runContextValue(run);
    item.accessibilityInformation = { label: `${run.group} ${label}: ${description}` };
    item.command = runClickCommand(node.dir, this.dashboard);
    return item;
  }

  private queueItem(node: Extract<RunsNode, { kind: 'queue' | 'queued' }>): vscode.TreeItem {
    if (node.kind === 'queue') {
      const row = queueGroupRow(this.queue!);
      const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = 'queue';
      item.description = row.description;
      item.iconPath = new vscode.ThemeIcon('list-ordered');
      item.contextValue = 'cvwQueue';
      return item;
    }
    const found = this.queue!.items().find((i) => i.root === node.root && i.entry.id === node.id);
    const item = new vscode.TreeItem(node.id, vscode.TreeItemCollapsibleState.None);
    item.id = `queued:${node.root}:${node.id}`;
    if (!found) return item;
    const row = queueEntryRow(found);
    item.label = row.label;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.contextValue = row.contextValue;
    const { icon, color } = QUEUE_ICONS[found.entry.state];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.accessibilityInformation = { label: `queued ${row.label}: ${row.description}` };
    if (found.entry.runDir) item.command = runClickCommand(found.entry.runDir, this.dashboard);
    return item;
  }

  dispose(): void {
    this.queueSubscription?.dispose();
    clearInterval(this.ticker);
    if (this.pending) clearTimeout(this.pending);
    this.subscription.dispose();
    this.changed.dispose();
  }
}
