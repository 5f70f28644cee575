/**
 * The benchmarks panel: every `cvw benchmark knn|linear` result under the workspace's work_dirs
 * (a model-zoo table across runs and algorithms, with bar charts) and the tables of the
 * workspace's BENCHMARKS.md (engine and data benchmarks), all sortable. One panel; it reads
 * everything again when a result file or BENCHMARKS.md changes.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readAllBenchmarks, readMarkdownTables } from '../../report/runFiles';
import { findRunDirs } from '../../rundir';
import { HostMessageType, PanelKind, VIEW_TYPES, isPanelState, type BenchmarksMessage, type BenchmarksState } from '../protocol';
import { sortStateFrom } from './messageGuard';
import { PanelBase, webviewOptions } from './panelBase';
import type { PanelContext } from './panelContext';

export const BENCHMARKS_DOCUMENT = 'BENCHMARKS.md';

/** The work_dirs of each workspace folder (where `cvw train` writes runs by default). */
export function workDirRoots(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).map((f) => path.join(f.uri.fsPath, 'work_dirs'));
}

export function collectBenchmarks(ctx: PanelContext): Omit<BenchmarksMessage, 'type'> {
  const known = ctx.runs?.()?.runs().map((r) => r.dir);
  const dirs = known ?? findRunDirs(workDirRoots());
  const entries = readAllBenchmarks(dirs);
  const documents: BenchmarksMessage['documents'] = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const file = path.join(folder.uri.fsPath, BENCHMARKS_DOCUMENT);
    const tables = readMarkdownTables(file);
    if (tables) documents.push({ file, tables });
  }
  return { entries, documents };
}

export class BenchmarksPanel extends PanelBase<BenchmarksState> {
  private static current: BenchmarksPanel | undefined;
  private timer?: ReturnType<typeof setTimeout>;
  private listed: string[] = [];

  private constructor(panel: vscode.WebviewPanel, ctx: PanelContext, state: BenchmarksState) {
    super(panel, ctx, PanelKind.Benchmarks, state, []);
    BenchmarksPanel.current = this;
    const watcher = vscode.workspace.createFileSystemWatcher(`{**/benchmarks/*.json,**/${BENCHMARKS_DOCUMENT}}`);
    const later = () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.send(), 300);
    };
    this.disposables.push(watcher, watcher.onDidChange(later), watcher.onDidCreate(later), watcher.onDidDelete(later));
  }

  static createOrShow(ctx: PanelContext): BenchmarksPanel {
    if (BenchmarksPanel.current) {
      BenchmarksPanel.current.panel.reveal();
      return BenchmarksPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPES[PanelKind.Benchmarks], 'Benchmarks', vscode.ViewColumn.Active, webviewOptions(ctx, []));
    return new BenchmarksPanel(panel, ctx, { kind: PanelKind.Benchmarks, sort: {} });
  }

  static revive(panel: vscode.WebviewPanel, ctx: PanelContext, state: unknown): BenchmarksPanel {
    BenchmarksPanel.current?.dispose();
    const sort = isPanelState(state, PanelKind.Benchmarks) ? sortStateFrom((state as BenchmarksState).sort) : {};
    return new BenchmarksPanel(panel, ctx, { kind: PanelKind.Benchmarks, sort });
  }

  /** The open panel, as a list like the other panels' (dispose-all). */
  static panels(): BenchmarksPanel[] {
    return BenchmarksPanel.current ? [BenchmarksPanel.current] : [];
  }

  protected onReady(): void {
    this.send();
  }

  private send(): void {
    const collected = collectBenchmarks(this.ctx);
    this.listed = collected.documents.map((d) => d.file);
    this.post({ type: HostMessageType.Benchmarks, ...collected });
  }

  /** No run's files are opened from here, only the BENCHMARKS.md files the panel listed. */
  protected shownRunDirs(): readonly string[] {
    return [];
  }

  protected override listedFiles(): readonly string[] {
    return this.listed;
  }

  protected onDispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (BenchmarksPanel.current === this) BenchmarksPanel.current = undefined;
  }
}
