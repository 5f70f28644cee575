/**
 * CV Workbench, the VS Code side: activation, commands, the output channel, and the config
 * language features. Everything heavy (training, export) runs in `cvw` child processes, never in
 * the extension host; this module imports only src/core (and the registry of built-ins, whose
 * modules load no native code at top level).
 */
import * as vscode from 'vscode';
import { COMMANDS, OUTPUT_CHANNEL_NAME } from './ids';
import { validateAllConfigs, validateConfig } from './commands/validate';
import { registerDiagnostics, type ConfigDiagnostics } from './language/diagnostics';
import { registerLanguageFeatures } from './language';
import { registerRuns, type RunsApi } from './runs';
import { registerPanels } from './panels';
import { registerCatalog, type CatalogApi } from './catalog';
import { registerResolvedConfig } from './config/resolvedConfig';
import { registerSlurm, type SlurmApi } from './slurm';
import { ConfigFileIndex } from './configIndex';

/** What activate() returns: used by the extension-host integration tests (test/e2e/suite). */
export interface CvWorkbenchApi {
  diagnostics: ConfigDiagnostics;
  output: vscode.OutputChannel;
  /** Runs: the watcher and manager (service), the Runs view, the status bar item, crash diagnostics. */
  runs: RunsApi;
  /** The Components view. */
  catalog: CatalogApi;
  /** Submit to Slurm and the queue poller. */
  slurm: SlurmApi;
  /** The workspace's trainable configs (the explorer's Train, Debug and Submit entries). */
  configIndex: ConfigFileIndex;
}

export function activate(context: vscode.ExtensionContext): CvWorkbenchApi {
  const output = vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME);
  context.subscriptions.push(output);
  output.appendLine(`CV Workbench ${context.extension.packageJSON.version as string} activated`);

  const diagnostics = registerDiagnostics(context, { log: (line) => output.appendLine(line) });
  registerLanguageFeatures(context);
  registerResolvedConfig(context);
  // The runs feature and the panels use each other's commands: the panels' buttons execute Stop,
  // Resume and Export, the runs link to the dashboard. Both register in this activation, before any
  // command can run, so each is told the other is there rather than looking for its commands.
  const runs = registerRuns(context, output, { dashboard: true });
  registerPanels(context, { output, runs: () => runs.service.runWatcher, queue: () => runs.queue, execCvw: (args, cwd) => runs.service.manager.exec(args, { cwd }) });
  const catalog = registerCatalog(context, { exec: (args, cwd) => runs.service.manager.exec(args, { cwd }) });
  const slurm = registerSlurm(context, runs, output);
  const configIndex = new ConfigFileIndex();
  context.subscriptions.push(configIndex);

  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.validateConfig, (uri?: vscode.Uri) => validateConfig(diagnostics, output, uri)),
    vscode.commands.registerCommand(COMMANDS.validateAllConfigs, () => validateAllConfigs(diagnostics, output)),
    vscode.commands.registerCommand(COMMANDS.showOutput, () => output.show(true)),
    // Trust granted: the diagnostics (registered first, so already scheduled) load the custom
    // modules; once they have, the Components view lists what those registered.
    vscode.workspace.onDidGrantWorkspaceTrust(async () => {
      await diagnostics.settled();
      catalog.tree.refresh();
    }),
  );
  return { diagnostics, output, runs, catalog, slurm, configIndex };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
