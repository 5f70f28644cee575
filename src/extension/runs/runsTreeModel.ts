/**
 * The Runs view's content, decided without VS Code: runs grouped by config (in the order the
 * runs come), one stable node object per group and run (so that reveal() and selections see the
 * same objects), and what each row says — label, one-line description, tooltip rows, icon,
 * context value (for the `when` clauses of package.json's menus) and the command of a click.
 * runsView.ts turns these into vscode.TreeItems.
 */
import * as path from 'node:path';
import type { RunRecord, RunState } from '../../rundir';
import { formatDuration, formatNumber } from '../../train/progress';
import { PANEL_COMMANDS, RUN_COMMANDS } from '../ids';
import { shownEntries, type QueueList } from './queueTreeModel';

export type RunsNode = { kind: 'group'; group: string } | { kind: 'run'; dir: string } | { kind: 'queue' } | { kind: 'queued'; root: string; id: string };

/** The runs as the view reads them (RunsService). */
export interface RunsList {
  runs(): RunRecord[];
  get(dir: string): RunRecord | undefined;
}

/** A codicon and its theme colour. */
export const RUN_ICONS: Record<RunState, { icon: string; color?: string }> = {
  pending: { icon: 'watch', color: 'charts.blue' },
  running: { icon: 'sync~spin', color: 'charts.blue' },
  finished: { icon: 'pass', color: 'testing.iconPassed' },
  failed: { icon: 'error', color: 'testing.iconFailed' },
  crashed: { icon: 'error', color: 'testing.iconFailed' },
  stopped: { icon: 'debug-stop', color: 'charts.yellow' },
  interrupted: { icon: 'warning', color: 'charts.yellow' },
};

/** `12 s`, `3m05s`: how long a run ran (until now while it runs). */
export function runDuration(run: RunRecord, now = Date.now()): string {
  const end = run.state === 'running' ? now : (run.endedMs ?? run.mtimeMs);
  return formatDuration(Math.max(0, (end - run.startedMs) / 1000));
}

function startedLabel(run: RunRecord, now: number): string {
  const d = new Date(run.startedMs);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** One line: status, start, duration, progress, last loss, best metric (or final metrics). */
export function describeRun(run: RunRecord, now = Date.now()): string {
  const { info } = run;
  const parts: string[] = [run.state, startedLabel(run, now), runDuration(run, now)];
  if (run.state === 'running' && info.max_iters) parts.push(`${info.iter}/${info.max_iters}`);
  if (info.last_loss !== undefined) parts.push(`loss ${formatNumber(info.last_loss)}`);
  if (info.best) parts.push(`${info.best.metric} ${formatNumber(info.best.value)}`);
  else {
    const first = Object.entries(info.metrics ?? {})[0];
    if (first) parts.push(`${first[0]} ${formatNumber(first[1])}`);
  }
  return parts.join(' · ');
}

/** The tooltip's rows (name, value) below its title. */
export function runTooltipRows(run: RunRecord, now = Date.now()): Array<[string, string]> {
  const { info } = run;
  const rows: Array<[string, string]> = [
    ['config', info.config],
    ['engine', info.engine ? `${info.engine.engine ?? info.engine.backend}${info.engine.reason ? ` (${info.engine.reason})` : ''}` : '?'],
    ['started', new Date(run.startedMs).toLocaleString()],
    ['duration', runDuration(run, now)],
    ['progress', `epoch ${info.epoch}/${info.max_epochs || '?'}, iteration ${info.iter}/${info.max_iters || '?'}`],
  ];
  if (info.last_loss !== undefined) rows.push(['last loss', formatNumber(info.last_loss)]);
  if (info.best) rows.push([`best ${info.best.metric}`, `${formatNumber(info.best.value)} (epoch ${info.best.epoch})`]);
  for (const [k, v] of Object.entries(info.metrics ?? {})) rows.push([k, formatNumber(v)]);
  if (info.error) rows.push(['error', info.error.message]);
  if (run.state === 'interrupted') rows.push(['note', 'its process is gone; Resume continues from the last checkpoint']);
  if (run.state === 'crashed') rows.push(['note', 'its process is gone before the first checkpoint']);
  if (run.elsewhere) rows.push(['note', `written on ${run.elsewhere}: whether it still runs there cannot be told from this machine, nor can it be stopped from here`]);
  return rows;
}

/** Matched by package.json's menus: `cvwRun.<state>[.elsewhere][.resumable]` (`elsewhere`: RunRecord.elsewhere). */
export function runContextValue(run: RunRecord): string {
  return `cvwRun.${run.state}${run.elsewhere ? '.elsewhere' : ''}${run.resumable ? '.resumable' : ''}`;
}

/** A click on a run: its dashboard when the panels provide one, else its output. */
export function runClickCommand(dir: string, dashboard: boolean): { title: string; command: string; arguments: [string] } {
  return dashboard ? { title: 'Open Dashboard', command: PANEL_COMMANDS.openDashboard, arguments: [dir] } : { title: 'Show Output', command: RUN_COMMANDS.openRunOutput, arguments: [dir] };
}

export class RunsTreeModel {
  private readonly groups = new Map<string, RunsNode>();
  private readonly runNodes = new Map<string, RunsNode>();

  private readonly queueNode: RunsNode = { kind: 'queue' };
  private readonly queuedNodes = new Map<string, RunsNode>();

  /** `queue`: the run queue, listed first as a "Queue" group while it has entries not done. */
  constructor(
    private readonly list: RunsList,
    private readonly queue?: QueueList,
  ) {}

  queuedNode(root: string, id: string): RunsNode {
    const key = `${root}\0${id}`;
    let node = this.queuedNodes.get(key);
    if (!node) this.queuedNodes.set(key, (node = { kind: 'queued', root, id }));
    return node;
  }

  runNode(dir: string): RunsNode {
    let node = this.runNodes.get(dir);
    if (!node) this.runNodes.set(dir, (node = { kind: 'run', dir }));
    return node;
  }

  groupNode(group: string): RunsNode {
    let node = this.groups.get(group);
    if (!node) this.groups.set(group, (node = { kind: 'group', group }));
    return node;
  }

  children(node?: RunsNode): RunsNode[] {
    const runs = this.list.runs();
    if (!node) {
      const queue = this.queue && shownEntries(this.queue).length ? [this.queueNode] : [];
      return [...queue, ...[...new Set(runs.map((r) => r.group))].map((g) => this.groupNode(g))];
    }
    if (node.kind === 'group') return runs.filter((r) => r.group === node.group).map((r) => this.runNode(r.dir));
    if (node.kind === 'queue' && this.queue) return shownEntries(this.queue).map((i) => this.queuedNode(i.root, i.entry.id));
    return [];
  }

  parent(node: RunsNode): RunsNode | undefined {
    if (node.kind === 'group' || node.kind === 'queue') return undefined;
    if (node.kind === 'queued') return this.queueNode;
    const run = this.list.get(node.dir);
    return run ? this.groupNode(run.group) : undefined;
  }

  /** A group's row: `3 runs · 1 running`, and the config its first run was started from. */
  groupRow(group: string): { label: string; description: string; config?: string } {
    const runs = this.list.runs().filter((r) => r.group === group);
    const running = runs.filter((r) => r.state === 'running').length;
    return { label: group, description: `${runs.length} run${runs.length === 1 ? '' : 's'}${running ? ` · ${running} running` : ''}`, config: runs[0]?.info.config };
  }

  /** A run's row; `run` undefined when its directory is gone. */
  runRow(dir: string, now = Date.now()): { label: string; run?: RunRecord; description: string } {
    const run = this.list.get(dir);
    return { label: path.basename(dir), run, description: run ? describeRun(run, now) : 'gone' };
  }

  /** True when some run is running (its duration moves on by itself). */
  anyRunning(): boolean {
    return this.list.runs().some((r) => r.state === 'running');
  }
}
