/**
 * The runs feature: run, watch, stop, resume and debug training from the editor (issue 10).
 * Training never runs here: `cvw train` children do it (src/runs/manager.ts), and everything the
 * editor shows comes from their run directories (src/runs/watcher.ts).
 *
 *   Runs view (activity bar) · status bar item of the active run · notifications when runs end ·
 *   Train / Debug CodeLens and editor title buttons · commands · `cvw` tasks · `cvw` debug
 *   configurations · crash diagnostics.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ManagedRun } from '../../runs/manager';
import { CONTEXT, DEBUG_TYPE, TASK_TYPE, VIEWS } from '../ids';
import { addConfigLens } from '../language';
import { ConfigEditorContext, trainLenses } from './configEditor';
import { CrashDiagnostics } from './crashDiagnostics';
import { INITIAL_CONFIGURATION, TrainingDebugConfigurationProvider } from './debug';
import { RunNotifier } from './notifier';
import { registerRunCommands } from './registerCommands';
import { RunsTreeProvider, type RunsNode } from './runsView';
import { RunsService } from './service';
import { ActiveRunStatus } from './statusBar';
import { CvwTaskProvider } from './tasks';
import { QueueController, registerQueueCommands } from './queue';

export type { RunsService } from './service';
export type { RunsNode } from './runsView';

/** What the runs feature offers the rest of the extension (the panels) and the e2e tests. */
export interface RunsApi {
  service: RunsService;
  view: vscode.TreeView<RunsNode>;
  tree: RunsTreeProvider;
  status: ActiveRunStatus;
  crashes: CrashDiagnostics;
  queue: QueueController;
}

export interface RunsDependencies {
  /**
   * The panels register the dashboard command in this activation: runs link to it (a click on a
   * run, "Open Dashboard" buttons and menu items). Without it they show the run's output instead.
   */
  dashboard: boolean;
}

export function registerRuns(context: vscode.ExtensionContext, output: vscode.OutputChannel, deps: RunsDependencies): RunsApi {
  const service = new RunsService(context, output);
  const crashes = new CrashDiagnostics((cwd) => {
    try {
      return [service.cvwFor(cwd).packageRoot, context.extensionPath];
    } catch {
      return [context.extensionPath];
    }
  });
  const status = new ActiveRunStatus(service);
  const notifier = new RunNotifier(service, crashes, deps.dashboard);
  const queue = new QueueController(service, context.workspaceState);
  const tree = new RunsTreeProvider(service, deps.dashboard, queue);
  const view = vscode.window.createTreeView(VIEWS.runs, { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
  void vscode.commands.executeCommand('setContext', CONTEXT.dashboardAvailable, deps.dashboard);

  const commandContext = { service, notifier, crashes, status, dashboard: deps.dashboard };
  context.subscriptions.push(
    service,
    queue,
    crashes,
    status,
    notifier,
    tree,
    view,
    service.manager.onStart((p) => {
      if (p instanceof ManagedRun) status.noteStarted(p.runDir);
    }),
    ...registerRunCommands(commandContext, tree),
    ...registerQueueCommands(commandContext, queue),
    vscode.tasks.registerTaskProvider(TASK_TYPE, new CvwTaskProvider(service)),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new TrainingDebugConfigurationProvider(service)),
    // "Debug Training" in the Run and Debug view's list, without a launch.json.
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, { provideDebugConfigurations: () => [{ ...INITIAL_CONFIGURATION }] }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    addConfigLens(trainLenses),
    new ConfigEditorContext(),
  );

  output.appendLine(`runs: watching ${(vscode.workspace.workspaceFolders ?? []).map((f) => path.join(f.uri.fsPath, 'work_dirs')).join(', ') || 'no workspace folder'}`);
  return { service, view, tree, status, crashes, queue };
}
