/** Command ids of the panels (package.json `contributes.commands`), and how their arguments name runs. */
import * as vscode from 'vscode';

export const PANEL_COMMANDS = {
  openDashboard: 'cvWorkbench.openDashboard',
  compareRuns: 'cvWorkbench.compareRuns',
  openBenchmarks: 'cvWorkbench.openBenchmarks',
  openReport: 'cvWorkbench.openReport',
} as const;

/**
 * The commands of the runs support (src/extension/runs/ids.ts) that the dashboard's buttons
 * execute, with the run directory as argument.
 */
export const RUN_COMMANDS = {
  stop: 'cvWorkbench.stopRun',
  resume: 'cvWorkbench.resumeRun',
  export: 'cvWorkbench.export',
} as const;

/**
 * The run directory an argument names: a path, a Uri, or a tree item / run record of the Runs
 * view (`{ dir }`, `{ run: { dir } }`, `{ resourceUri }`).
 */
export function runDirOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (arg && typeof arg === 'object') {
    const o = arg as { dir?: unknown; run?: { dir?: unknown }; resourceUri?: unknown; fsPath?: unknown };
    if (typeof o.dir === 'string') return o.dir;
    if (o.run && typeof o.run.dir === 'string') return o.run.dir;
    if (o.resourceUri instanceof vscode.Uri) return o.resourceUri.fsPath;
    if (typeof o.fsPath === 'string') return o.fsPath;
  }
  return undefined;
}

/**
 * The runs a compare command names: VS Code passes (clicked item, all selected items) from a
 * tree view with multi-select; from code, an array of directories.
 */
export function runDirsOf(first: unknown, all: unknown): string[] {
  const list = Array.isArray(all) && all.length ? all : Array.isArray(first) ? first : [first];
  return [...new Set(list.map(runDirOf).filter((d): d is string => !!d))];
}
