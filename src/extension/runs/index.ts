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
import { isConfigDocument } from '../configDocuments';
import { addConfigLens } from '../language';
import * as commands from './commands';
import { CrashDiagnostics } from './crashDiagnostics';
import { INITIAL_CONFIGURATION, TrainingDebugConfigurationProvider } from './debug';
import { CONTEXT, DEBUG_TYPE, PANEL_COMMANDS, RUN_COMMANDS, RUNS_VIEW, TASK_TYPE } from './ids';
import { RunNotifier } from './notifier';
import { RunsTreeProvider, type RunsNode } from './runsView';
import { RunsService } from './service';
import { ActiveRunStatus } from './statusBar';
import { CvwTaskProvider } from './tasks';

export { RUN_COMMANDS, PANEL_COMMANDS } from './ids';
export type { RunsService } from './service';
export type { RunsNode } from './runsView';

/** What the runs feature offers the rest of the extension (the panels) and the e2e tests. */
export interface RunsApi {
  service: RunsService;
  view: vscode.TreeView<RunsNode>;
  tree: RunsTreeProvider;
  status: ActiveRunStatus;
  crashes: CrashDiagnostics;
}

function isBaseConfig(doc: vscode.TextDocument): boolean {
  return doc.uri.fsPath.split(/[\\/]/).includes('_base_');
}

export function registerRuns(context: vscode.ExtensionContext, output: vscode.OutputChannel): RunsApi {
  const service = new RunsService(context, output);
  context.subscriptions.push(service);

  // The panels (issue 11) register the dashboard; until they do, nothing links to it.
  let dashboard = false;
  const checkDashboard = async () => {
    const has = (await vscode.commands.getCommands(true)).includes(PANEL_COMMANDS.openDashboard);
    if (has !== dashboard) {
      dashboard = has;
      await vscode.commands.executeCommand('setContext', CONTEXT.dashboardAvailable, has);
      tree.refresh();
    }
  };
  const dashboardAvailable = () => dashboard;

  const crashes = new CrashDiagnostics((cwd) => {
    try {
      return [service.cvwFor(cwd).packageRoot, context.extensionPath];
    } catch {
      return [context.extensionPath];
    }
  });
  const status = new ActiveRunStatus(service);
  const notifier = new RunNotifier(service, crashes, dashboardAvailable);
  const tree = new RunsTreeProvider(service, dashboardAvailable);
  const view = vscode.window.createTreeView(RUNS_VIEW, { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
  context.subscriptions.push(crashes, status, notifier, tree, view);
  context.subscriptions.push(
    service.manager.onStart((p) => {
      if (p instanceof ManagedRun) status.noteStarted(p.runDir);
    }),
  );

  const ctx: commands.RunCommandContext = { service, notifier, crashes, status, dashboardAvailable };
  const register = (id: string, fn: (...args: any[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register(RUN_COMMANDS.train, (arg?: unknown, options?: commands.StartOptions) => commands.train(ctx, arg, options));
  register(RUN_COMMANDS.debugTraining, (arg?: unknown, options?: commands.StartOptions) => commands.debugTraining(ctx, arg, options));
  register(RUN_COMMANDS.evaluate, (arg?: unknown) => commands.evaluate(ctx, arg));
  register(RUN_COMMANDS.export, (arg?: unknown, format?: string) => commands.exportRun(ctx, arg, typeof format === 'string' ? format : undefined));
  register(RUN_COMMANDS.benchmark, (arg?: unknown, kind?: string) => commands.benchmark(ctx, arg, typeof kind === 'string' ? kind : undefined));
  register(RUN_COMMANDS.stopRun, (arg?: unknown, selected?: unknown) => commands.stop(ctx, arg, selected));
  register(RUN_COMMANDS.resumeRun, (arg?: unknown, options?: commands.StartOptions) => commands.resume(ctx, arg, options && typeof options === 'object' && !Array.isArray(options) ? options : {}));
  register(RUN_COMMANDS.openRunLog, (arg?: unknown) => commands.openLog(ctx, arg));
  register(RUN_COMMANDS.openRunOutput, (arg?: unknown) => commands.openOutput(ctx, arg));
  register(RUN_COMMANDS.openRunFolder, (arg?: unknown) => commands.openFolder(ctx, arg));
  register(RUN_COMMANDS.openRunConfig, (arg?: unknown) => commands.openConfig(ctx, arg));
  register(RUN_COMMANDS.deleteRun, (arg?: unknown, selected?: unknown, confirmed?: boolean) => commands.deleteRuns(ctx, arg, selected, confirmed === true));
  register(RUN_COMMANDS.refreshRuns, () => {
    for (const r of service.runs()) service.refresh(r.dir);
    tree.refresh();
  });
  register(RUN_COMMANDS.showActiveRun, (arg?: unknown) => commands.showActiveRun(ctx, arg));

  context.subscriptions.push(
    vscode.tasks.registerTaskProvider(TASK_TYPE, new CvwTaskProvider(service)),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new TrainingDebugConfigurationProvider(service)),
    // "Debug Training" in the Run and Debug view's list, without a launch.json.
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, { provideDebugConfigurations: () => [{ ...INITIAL_CONFIGURATION }] }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    addConfigLens((doc) =>
      isBaseConfig(doc)
        ? []
        : [
            { title: '$(play) Train', command: RUN_COMMANDS.train, arguments: [doc.uri], tooltip: 'Train this config (cvw train) in a child process; the run appears in the Runs view' },
            { title: '$(debug-alt) Debug', command: RUN_COMMANDS.debugTraining, arguments: [doc.uri], tooltip: 'Train under the debugger: breakpoints in custom modules and the toolkit are hit' },
          ],
    ),
  );

  // Editor title buttons on configs.
  const updateEditorContext = (editor = vscode.window.activeTextEditor) =>
    void vscode.commands.executeCommand('setContext', CONTEXT.editorIsConfig, !!editor && isConfigDocument(editor.document) && !isBaseConfig(editor.document));
  updateEditorContext();
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor((e) => updateEditorContext(e)),
    vscode.extensions.onDidChange(() => void checkDashboard()),
  );
  void checkDashboard();
  // The panels may register their command after this activation: look again shortly.
  const recheck = setTimeout(() => void checkDashboard(), 3000);
  context.subscriptions.push(new vscode.Disposable(() => clearTimeout(recheck)));

  output.appendLine(`runs: watching ${(vscode.workspace.workspaceFolders ?? []).map((f) => path.join(f.uri.fsPath, 'work_dirs')).join(', ') || 'no workspace folder'}`);
  return { service, view, tree, status, crashes };
}
