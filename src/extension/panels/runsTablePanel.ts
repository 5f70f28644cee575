/**
 * The runs table: one row per run of the workspace, live. The host reads each run once (run.json,
 * config.yaml, metrics.jsonl summarised to final and best values, annotations.json) and then only
 * the runs the runs view's watcher reports changed, batched; the page holds every row and sorts,
 * filters and groups them itself (src/extension/panels/runsTableModel.ts), so typing in the filter
 * never waits for the host. The run queue's entries that are not a run yet are rows too (kind
 * `queued`), kept live from the queue controller the Runs view's Queue group follows, and dropped
 * once their run has a row. One panel per window; its columns, sort, filter and grouping are
 * remembered in the workspace and in the page's state.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findRunDirs, readRunAnnotations, readRunConfig, readRunRecord, writeRunAnnotations, type RunRecord } from '../../rundir';
import { queueFile } from '../../runs/queueFile';
import { PANEL_COMMANDS, RUN_COMMANDS } from '../ids';
import { HostMessageType, PanelKind, TableAction, VIEW_TYPES, isPanelState, type RunsTableState, type TableActionMessage, type TableSettingsMessage } from '../protocol';
import { workDirRoots } from './benchmarksPanel';
import { MetricSummaries, type ReadBudget } from './metricSummaries';
import { PanelBase, webviewOptions } from './panelBase';
import type { PanelContext } from './panelContext';
import { queuedRows, runRow, tableViewFrom, type MetricSummary, type QueuedRow, type RunRow, type TableRow } from './runsTableModel';

/** workspaceState key of the table's settings. */
const VIEW_MEMENTO = 'cvWorkbench.runsTable.view';
/** Changes reported within this many ms are sent as one message. */
const BATCH_MS = 500;
/**
 * Bytes of metrics.jsonl read per turn, over all rows read in it (60-100 ms): rows whose files
 * hold more are sent with what was read and read on at the next turn.
 */
const TURN_READ_BYTES = 4 << 20;

export class RunsTablePanel extends PanelBase<RunsTableState> {
  private static current: RunsTablePanel | undefined;
  private readonly rows = new Map<string, RunRow>();
  /** The queued rows the page has, by id (`<queue file>#<id>`). */
  private queued = new Map<string, QueuedRow>();
  /** metrics.jsonl summaries by run, each updated from what its file appended. */
  private readonly metricsCache = new MetricSummaries();
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(panel: vscode.WebviewPanel, ctx: PanelContext, state: RunsTableState) {
    super(panel, ctx, PanelKind.RunsTable, state, []);
    RunsTablePanel.current = this;
  }

  static createOrShow(ctx: PanelContext): RunsTablePanel {
    if (RunsTablePanel.current) {
      RunsTablePanel.current.panel.reveal();
      return RunsTablePanel.current;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPES[PanelKind.RunsTable], 'Runs Table', vscode.ViewColumn.Active, webviewOptions(ctx, []));
    const view = tableViewFrom(ctx.workspaceState?.get(VIEW_MEMENTO));
    return new RunsTablePanel(panel, ctx, { kind: PanelKind.RunsTable, view, selected: [] });
  }

  static revive(panel: vscode.WebviewPanel, ctx: PanelContext, state: unknown): RunsTablePanel {
    const s = isPanelState(state, PanelKind.RunsTable) ? (state as RunsTableState) : undefined;
    const view = tableViewFrom(s?.view ?? ctx.workspaceState?.get(VIEW_MEMENTO));
    RunsTablePanel.current?.dispose();
    return new RunsTablePanel(panel, ctx, { kind: PanelKind.RunsTable, view, selected: [] });
  }

  static panels(): RunsTablePanel[] {
    return RunsTablePanel.current ? [RunsTablePanel.current] : [];
  }

  protected onReady(): void {
    const source = this.ctx.runs?.();
    const records = source ? source.runs().map((r) => ({ dir: r.dir, state: r.state })) : findRunDirs(workDirRoots()).map((dir) => ({ dir, state: undefined }));
    this.rows.clear();
    const budget = { bytes: TURN_READ_BYTES };
    for (const { dir, state } of records) this.readRow(dir, state, budget);
    this.queued = new Map();
    const queued = this.queuedChanges();
    this.post({ type: HostMessageType.TableRows, reset: true, rows: [...this.rows.values(), ...queued.rows], removed: [] });
    const queue = this.ctx.queue?.();
    if (queue) this.pageDisposables.push(queue.onDidChange(() => this.postQueued()));
    if (source) {
      this.pageDisposables.push(
        source.onChange(({ run }) => this.schedule(run.dir)),
        { dispose: () => this.cancelBatch() },
      );
    }
  }

  protected override onRefresh(): void {
    this.metricsCache.clear();
    super.onRefresh();
  }

  /** The page is gone (reloaded, refreshed): its batch goes too, and the next change starts a new one. */
  private cancelBatch(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  /** Read `dir` again soon (in `ms`), with whatever else changes meanwhile. */
  private schedule(dir: string, ms = BATCH_MS): void {
    this.pending.add(path.resolve(dir));
    this.timer ??= setTimeout(() => this.flush(), ms);
  }

  private flush(): void {
    this.timer = undefined;
    const dirs = [...this.pending];
    this.pending = new Set();
    const states = new Map((this.ctx.runs?.()?.runs() ?? []).map((r) => [path.resolve(r.dir), r.state]));
    const rows: RunRow[] = [];
    const removed: string[] = [];
    const budget = { bytes: TURN_READ_BYTES };
    for (const dir of dirs) {
      const row = this.readRow(dir, states.get(dir), budget);
      if (row) rows.push(row);
      else {
        this.rows.delete(dir);
        removed.push(dir);
      }
    }
    // A run that appeared may be a queue entry's, whose queued row goes in the same message.
    const queued = this.queuedChanges();
    this.post({ type: HostMessageType.TableRows, reset: false, rows: [...rows, ...queued.rows], removed: [...removed, ...queued.removed] });
  }

  private postQueued(): void {
    const { rows, removed } = this.queuedChanges();
    if (rows.length || removed.length) this.post({ type: HostMessageType.TableRows, reset: false, rows, removed });
  }

  /** The queued rows now (those whose run has a row left out), as changes to what the page has. */
  private queuedChanges(): { rows: TableRow[]; removed: string[] } {
    const items = this.ctx.queue?.()?.items() ?? [];
    const now = new Map(queuedRows(items, (dir) => this.rows.has(path.resolve(dir)), queuedRowId).map((r) => [r.dir, r]));
    const rows = [...now.values()].filter((r) => JSON.stringify(r) !== JSON.stringify(this.queued.get(r.dir)));
    const removed = [...this.queued.keys()].filter((id) => !now.has(id));
    this.queued = now;
    return { rows, removed };
  }

  /**
   * A run's row from its files (the watcher's state wins over run.json's); undefined when it is
   * gone. Its metrics are read as far as `budget` goes; a row with more to read is read again
   * at the next turn.
   */
  private readRow(dir: string, state: string | undefined, budget: ReadBudget): RunRow | undefined {
    const resolved = path.resolve(dir);
    const record: RunRecord | undefined = readRunRecord(resolved);
    if (!record) {
      this.metricsCache.forget(resolved);
      return undefined;
    }
    let annotations = { starred: false, note: '' };
    try {
      annotations = readRunAnnotations(resolved);
    } catch (e) {
      this.ctx.output.appendLine(`[runs table] ${(e as Error).message}`);
    }
    const row = runRow({ ...record, state: state ?? record.state }, readRunConfig(resolved).config, this.metricsOf(resolved, budget), annotations);
    this.rows.set(resolved, row);
    return row;
  }

  private metricsOf(dir: string, budget: ReadBudget): MetricSummary {
    try {
      const { summary, more } = this.metricsCache.read(dir, budget);
      if (more) this.schedule(dir, 0);
      return summary;
    } catch (e) {
      // A metrics.jsonl that cannot be read (not a regular file): the row without metrics, and why.
      this.ctx.output.appendLine(`[runs table] ${(e as Error).message}`);
      return { final: {}, best: {} };
    }
  }

  protected shownRunDirs(): readonly string[] {
    return [...this.rows.keys()];
  }

  protected override shownRowIds(): readonly string[] {
    return [...this.rows.keys(), ...this.queued.keys()];
  }

  protected override onTableAction(msg: TableActionMessage, dirs: string[]): void {
    this.act(msg, dirs).catch((err: unknown) => {
      this.ctx.output.appendLine(`[runs table] ${msg.action}: ${(err as Error).message}`);
      void vscode.window.showErrorMessage(`${msg.action}: ${(err as Error).message}`);
    });
  }

  private async act(msg: TableActionMessage, dirs: string[]): Promise<void> {
    const queued = dirs.map((id) => this.queued.get(id)).filter((r): r is QueuedRow => r !== undefined);
    // The page offers each action only for rows of its kind; a mixed message is a bug or a tampered page.
    if (isQueueAction(msg.action) ? queued.length !== dirs.length : queued.length) {
      throw new Error(isQueueAction(msg.action) ? 'only queued runs move in or leave the queue' : `${queued.map((r) => r.name).join(', ')}: queued, not a run yet`);
    }
    switch (msg.action) {
      case TableAction.Compare:
        await vscode.commands.executeCommand(PANEL_COMMANDS.compareRuns, dirs);
        return;
      case TableAction.Report:
        for (const dir of dirs) await vscode.commands.executeCommand(PANEL_COMMANDS.openReport, dir);
        return;
      case TableAction.Export:
        // The runs view's command, one run at a time (each asks for its format).
        for (const dir of dirs) await vscode.commands.executeCommand(RUN_COMMANDS.export, dir);
        return;
      case TableAction.OpenDashboard:
        for (const dir of dirs) await vscode.commands.executeCommand(PANEL_COMMANDS.openDashboard, dir);
        return;
      case TableAction.Delete:
        // The runs view's command: its confirmation, its refusal to delete a running run.
        await vscode.commands.executeCommand(RUN_COMMANDS.deleteRun, dirs[0], dirs);
        for (const dir of dirs) this.schedule(dir);
        return;
      case TableAction.Star:
      case TableAction.Note: {
        const change = msg.action === TableAction.Star ? { starred: msg.starred === true } : { note: typeof msg.note === 'string' ? msg.note : '' };
        for (const dir of dirs) writeRunAnnotations(dir, change);
        for (const dir of dirs) this.schedule(dir);
        return;
      }
      case TableAction.QueueRemove:
        for (const r of queued) await vscode.commands.executeCommand(RUN_COMMANDS.queueRemove, queueNode(r));
        return;
      case TableAction.QueueUp:
      case TableAction.QueueDown: {
        // Several moved one place each keep their order: the first moved up first, the last moved down first.
        const up = msg.action === TableAction.QueueUp;
        const order = [...queued].sort((a, b) => ((a.position ?? Infinity) - (b.position ?? Infinity)) * (up ? 1 : -1));
        for (const r of order) await vscode.commands.executeCommand(up ? RUN_COMMANDS.queueMoveUp : RUN_COMMANDS.queueMoveDown, queueNode(r));
        return;
      }
      default: {
        const unhandled: never = msg.action;
        throw new Error(`unknown table action ${String(unhandled)}`);
      }
    }
  }

  protected override onTableSettings(msg: TableSettingsMessage): void {
    const view = tableViewFrom(msg.view);
    this.state = { ...this.state, view };
    void this.ctx.workspaceState?.update(VIEW_MEMENTO, view);
  }

  protected onDispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (RunsTablePanel.current === this) RunsTablePanel.current = undefined;
  }
}

function isQueueAction(action: TableAction): boolean {
  return action === TableAction.QueueRemove || action === TableAction.QueueUp || action === TableAction.QueueDown;
}

/** A queued row's id: its entry in the queue file, which no run directory can be (and absolute, as the page's messages must be). */
function queuedRowId(root: string, id: string): string {
  return `${queueFile(root)}#${id}`;
}

/** The Runs view's Queue node of a queued row: what the queue commands take. */
function queueNode(row: QueuedRow): { kind: 'queued'; root: string; id: string } {
  return { kind: 'queued', root: row.root, id: row.queueId };
}
