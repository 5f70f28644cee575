/**
 * The panels: commands that open them, and serializers that bring them back after a window
 * reload (VS Code keeps each panel's page state; the serializer rebuilds the panel from it).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readRunSummary } from '../../report/runFiles';
import { findRunDirs } from '../../rundir';
import { runDirOf, runDirsOf } from '../commandArgs';
import { PANEL_COMMANDS } from '../ids';
import { PanelKind, VIEW_TYPES } from '../protocol';
import { BenchmarksPanel, workDirRoots } from './benchmarksPanel';
import { ComparePanel } from './comparePanel';
import type { CvwProcess, PanelContext, QueueSource, RunsSource } from './panelContext';
import { runAction } from './runActions';
import { RunDashboardPanel } from './runDashboardPanel';
import { RunReportPanel } from './runReportPanel';
import { RunsTablePanel } from './runsTablePanel';

export { BenchmarksPanel, ComparePanel, RunDashboardPanel, RunReportPanel, RunsTablePanel };

export interface PanelDependencies {
  output: vscode.OutputChannel;
  /** The runs view's watcher, once started (live metrics, run states). */
  runs?: () => RunsSource | undefined;
  /** The run queue (the runs table's queued rows). */
  queue?: () => QueueSource | undefined;
  execCvw?: (args: string[], cwd: string) => CvwProcess;
}

/** Known runs: the runs view's, else a scan of the workspace's work_dirs. */
function knownRuns(ctx: PanelContext): string[] {
  const runs = ctx.runs?.()?.runs();
  return runs ? runs.map((r) => r.dir) : findRunDirs(workDirRoots());
}

async function pickRuns(ctx: PanelContext, many: boolean): Promise<string[]> {
  const dirs = knownRuns(ctx);
  if (!dirs.length) {
    void vscode.window.showInformationMessage('No runs found under work_dirs: train a config first.');
    return [];
  }
  const items = dirs.map((dir) => {
    const s = readRunSummary(dir);
    return { label: `${s.configStem}/${s.id}`, description: s.status, detail: dir, dir };
  });
  if (many) {
    const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Compare runs', placeHolder: 'Select the runs to compare' });
    return picked?.map((p) => p.dir) ?? [];
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'Open run', placeHolder: 'Select a run' });
  return picked ? [picked.dir] : [];
}

export function registerPanels(context: vscode.ExtensionContext, deps: PanelDependencies): PanelContext {
  const ctx: PanelContext = { extensionUri: context.extensionUri, output: deps.output, runs: deps.runs, queue: deps.queue, execCvw: deps.execCvw, workspaceState: context.workspaceState, runAction };
  const one = async (arg: unknown, open: (dir: string) => unknown) => {
    const dir = runDirOf(arg) ?? (await pickRuns(ctx, false))[0];
    if (dir) open(path.resolve(dir));
  };
  context.subscriptions.push(
    vscode.commands.registerCommand(PANEL_COMMANDS.openDashboard, (arg?: unknown) => one(arg, (dir) => RunDashboardPanel.createOrShow(ctx, dir))),
    vscode.commands.registerCommand(PANEL_COMMANDS.openReport, (arg?: unknown) => one(arg, (dir) => RunReportPanel.createOrShow(ctx, dir))),
    vscode.commands.registerCommand(PANEL_COMMANDS.compareRuns, async (first?: unknown, all?: unknown) => {
      let dirs = first === undefined ? [] : runDirsOf(first, all);
      if (dirs.length < 2) dirs = [...new Set([...dirs, ...(await pickRuns(ctx, true))])];
      if (dirs.length) ComparePanel.createOrShow(ctx, dirs);
    }),
    vscode.commands.registerCommand(PANEL_COMMANDS.openBenchmarks, () => BenchmarksPanel.createOrShow(ctx)),
    vscode.commands.registerCommand(PANEL_COMMANDS.openRunsTable, () => RunsTablePanel.createOrShow(ctx)),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPES[PanelKind.Dashboard], {
      deserializeWebviewPanel: async (panel, state) => void RunDashboardPanel.revive(panel, ctx, state),
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPES[PanelKind.Compare], {
      deserializeWebviewPanel: async (panel, state) => void ComparePanel.revive(panel, ctx, state),
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPES[PanelKind.Benchmarks], {
      deserializeWebviewPanel: async (panel, state) => void BenchmarksPanel.revive(panel, ctx, state),
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPES[PanelKind.Report], {
      deserializeWebviewPanel: async (panel, state) => void RunReportPanel.revive(panel, ctx, state),
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPES[PanelKind.RunsTable], {
      deserializeWebviewPanel: async (panel, state) => void RunsTablePanel.revive(panel, ctx, state),
    }),
    { dispose: () => [...RunDashboardPanel.panels(), ...ComparePanel.panels(), ...BenchmarksPanel.panels(), ...RunReportPanel.panels(), ...RunsTablePanel.panels()].forEach((p) => p.dispose()) },
  );
  return ctx;
}
