/**
 * The Runs view (activity bar): every run under the workspace's `work_dirs`, grouped by config,
 * with status, start, duration, last loss and best metric; actions in its context menu and inline.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunRecord, RunState } from '../../rundir';
import { formatDuration, formatNumber } from '../../train/progress';
import { RUN_COMMANDS } from './ids';
import type { RunsService } from './service';

export type RunsNode = { kind: 'group'; group: string } | { kind: 'run'; dir: string };

const ICONS: Record<RunState, [string, string | undefined]> = {
  pending: ['watch', 'charts.blue'],
  running: ['sync~spin', 'charts.blue'],
  finished: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  crashed: ['error', 'testing.iconFailed'],
  stopped: ['debug-stop', 'charts.yellow'],
  interrupted: ['warning', 'charts.yellow'],
};

/** `12 s`, `3m05s`: how long a run ran (until now while it runs). */
export function runDuration(run: RunRecord, now = Date.now()): string {
  const end = run.state === 'running' ? now : (run.endedMs ?? run.mtimeMs);
  return formatDuration(Math.max(0, (end - run.startedMs) / 1000));
}

function startedLabel(run: RunRecord): string {
  const d = new Date(run.startedMs);
  const sameDay = new Date().toDateString() === d.toDateString();
  return sameDay ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** One line: status, start, duration, progress, last loss, best metric (or final metrics). */
export function describeRun(run: RunRecord): string {
  const { info } = run;
  const parts: string[] = [run.state, startedLabel(run), runDuration(run)];
  if (run.state === 'running' && info.max_iters) parts.push(`${info.iter}/${info.max_iters}`);
  if (info.last_loss !== undefined) parts.push(`loss ${formatNumber(info.last_loss)}`);
  if (info.best) parts.push(`${info.best.metric} ${formatNumber(info.best.value)}`);
  else {
    const first = Object.entries(info.metrics ?? {})[0];
    if (first) parts.push(`${first[0]} ${formatNumber(first[1])}`);
  }
  return parts.join(' · ');
}

function tooltip(run: RunRecord): vscode.MarkdownString {
  const { info } = run;
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${run.group} / ${path.basename(run.dir)}** — ${run.state}\n\n`);
  const rows: Array<[string, string]> = [
    ['config', info.config],
    ['engine', info.engine ? `${info.engine.engine ?? info.engine.backend}${info.engine.reason ? ` (${info.engine.reason})` : ''}` : '?'],
    ['started', new Date(run.startedMs).toLocaleString()],
    ['duration', runDuration(run)],
    ['progress', `epoch ${info.epoch}/${info.max_epochs || '?'}, iteration ${info.iter}/${info.max_iters || '?'}`],
  ];
  if (info.last_loss !== undefined) rows.push(['last loss', formatNumber(info.last_loss)]);
  if (info.best) rows.push([`best ${info.best.metric}`, `${formatNumber(info.best.value)} (epoch ${info.best.epoch})`]);
  for (const [k, v] of Object.entries(info.metrics ?? {})) rows.push([k, formatNumber(v)]);
  if (info.error) rows.push(['error', info.error.message]);
  if (run.state === 'interrupted') rows.push(['note', 'its process is gone; Resume continues from the last checkpoint']);
  if (run.state === 'crashed') rows.push(['note', 'its process is gone before the first checkpoint']);
  md.appendMarkdown(rows.map(([k, v]) => `- ${k}: \`${v.replace(/`/g, "'")}\``).join('\n'));
  return md;
}

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private pending: NodeJS.Timeout | undefined;
  private readonly ticker: NodeJS.Timeout;
  private readonly subscription: vscode.Disposable;
  /** Nodes handed out, by key, so that reveal() and selections see the same objects. */
  private readonly groups = new Map<string, RunsNode>();
  private readonly runNodes = new Map<string, RunsNode>();

  constructor(
    private readonly service: RunsService,
    private readonly dashboardAvailable: () => boolean,
  ) {
    this.subscription = service.onDidChangeRuns(() => this.refreshSoon());
    // Durations of running runs move on by themselves.
    this.ticker = setInterval(() => {
      if (service.runs().some((r) => r.state === 'running')) this.refreshSoon();
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
    let node = this.runNodes.get(dir);
    if (!node) this.runNodes.set(dir, (node = { kind: 'run', dir }));
    return node;
  }

  private groupNode(group: string): RunsNode {
    let node = this.groups.get(group);
    if (!node) this.groups.set(group, (node = { kind: 'group', group }));
    return node;
  }

  getChildren(node?: RunsNode): RunsNode[] {
    const runs = this.service.runs();
    if (!node) {
      const order: string[] = [];
      for (const r of runs) if (!order.includes(r.group)) order.push(r.group);
      return order.map((g) => this.groupNode(g));
    }
    if (node.kind === 'group') return runs.filter((r) => r.group === node.group).map((r) => this.runNode(r.dir));
    return [];
  }

  getParent(node: RunsNode): RunsNode | undefined {
    if (node.kind === 'group') return undefined;
    const run = this.service.get(node.dir);
    return run ? this.groupNode(run.group) : undefined;
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (node.kind === 'group') {
      const runs = this.service.runs().filter((r) => r.group === node.group);
      const running = runs.filter((r) => r.state === 'running').length;
      const item = new vscode.TreeItem(node.group, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `group:${node.group}`;
      item.description = `${runs.length} run${runs.length === 1 ? '' : 's'}${running ? ` · ${running} running` : ''}`;
      item.iconPath = new vscode.ThemeIcon('folder-library');
      item.contextValue = 'cvwRunGroup';
      const config = runs[0]?.info.config;
      if (config) item.tooltip = config;
      return item;
    }
    const run = this.service.get(node.dir);
    const item = new vscode.TreeItem(path.basename(node.dir), vscode.TreeItemCollapsibleState.None);
    item.id = `run:${node.dir}`;
    if (!run) {
      item.description = 'gone';
      return item;
    }
    item.description = describeRun(run);
    item.tooltip = tooltip(run);
    const [icon, color] = ICONS[run.state];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.contextValue = `cvwRun.${run.state}${run.resumable ? '.resumable' : ''}`;
    item.accessibilityInformation = { label: `${run.group} ${path.basename(node.dir)}: ${describeRun(run)}` };
    item.command = this.dashboardAvailable()
      ? { title: 'Open Dashboard', command: 'cvWorkbench.openDashboard', arguments: [node.dir] }
      : { title: 'Show Output', command: RUN_COMMANDS.openRunOutput, arguments: [node.dir] };
    return item;
  }

  dispose(): void {
    clearInterval(this.ticker);
    if (this.pending) clearTimeout(this.pending);
    this.subscription.dispose();
    this.changed.dispose();
  }
}
