/**
 * Debug Training: a debug configuration of type `cvw` (launch.json, or F5 on a config) that this
 * provider turns into a Node launch of `cvw train` for VS Code's JavaScript debugger, with source
 * maps for the toolkit's own sources (dist/lib and the bundled CLI carry maps) and for custom
 * modules (custom_imports: TypeScript stripped by sucrase with the lines kept and an inline map),
 * so breakpoints in both are hit. The run it makes shows in the Runs view like any other.
 */
import * as vscode from 'vscode';
import { CONFIG_FILE_PATTERN } from '../configDetection';
import { DEBUG_TYPE } from '../ids';
import { runSettings, type RunsService } from './service';
import { ensureTrusted } from '../trust';

/** What a `cvw` launch configuration says (package.json `debuggers[].configurationAttributes`). */
export interface CvwDebugConfiguration extends vscode.DebugConfiguration {
  /** The config to train (`${file}` for the active editor's). */
  config?: string;
  /** More `cvw train` arguments: options and dotted-key overrides. */
  args?: string[];
  backend?: string;
  /** Continue a run (its directory) instead of starting one. */
  resume?: string;
  workDir?: string;
}

export const INITIAL_CONFIGURATION: CvwDebugConfiguration = { type: DEBUG_TYPE, request: 'launch', name: 'Debug Training', config: '${file}' };

export class TrainingDebugConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly service: RunsService) {}

  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [INITIAL_CONFIGURATION];
  }

  resolveDebugConfiguration(folder: vscode.WorkspaceFolder | undefined, debugConfiguration: vscode.DebugConfiguration): vscode.DebugConfiguration | null | undefined {
    let c = debugConfiguration as CvwDebugConfiguration;
    // F5 with no launch.json on a config: debug its training.
    if (!c.type && !c.request && !c.name) {
      const doc = vscode.window.activeTextEditor?.document;
      if (!doc || doc.uri.scheme !== 'file' || !CONFIG_FILE_PATTERN.test(doc.uri.fsPath)) return undefined;
      c = { ...INITIAL_CONFIGURATION, config: doc.uri.fsPath };
      folder = vscode.workspace.getWorkspaceFolder(doc.uri) ?? folder;
    }
    if (c.type !== DEBUG_TYPE) return c;
    if (!ensureTrusted('Debug Training')) return null;
    if (!c.config && !c.resume) {
      void vscode.window.showErrorMessage('Debug Training: the launch configuration needs "config" (a config file, e.g. "${file}") or "resume" (a run directory).');
      return null;
    }
    const cwd = folder?.uri.fsPath ?? (c.config && !c.config.includes('${') ? this.service.folderOf(c.config) : undefined);
    if (!cwd) {
      void vscode.window.showErrorMessage('Debug Training: open a workspace folder (work_dirs/ and the config\'s relative paths are resolved from it).');
      return null;
    }
    let invocation;
    try {
      invocation = this.service.invocation(cwd);
    } catch (e) {
      void vscode.window.showErrorMessage(`Debug Training: ${(e as Error).message}`);
      return null;
    }
    const { cvw, node } = invocation;
    const settings = runSettings(folder?.uri);
    const backend = c.backend ?? (settings.backend || undefined);
    const args = [
      'train',
      ...(c.resume ? ['--resume', c.resume] : [c.config as string]),
      ...(c.workDir ? ['--work-dir', c.workDir] : []),
      ...(backend ? ['--backend', backend] : []),
      ...(c.args ?? []),
    ];
    const env: Record<string, string> = { ...node.env, CVW_DEBUG: '1' };
    // The debugger starts Node itself: Electron's switch is not wanted there.
    delete env.ELECTRON_RUN_AS_NODE;
    return {
      type: 'node',
      request: 'launch',
      name: c.name,
      program: cvw.entry,
      args,
      cwd,
      env: { ...env, ...(c.env as Record<string, string> | undefined) },
      // Node itself when the editor runs on Node (remote, server); the debugger's default (node on PATH) under Electron.
      ...(settings.nodePath ? { runtimeExecutable: settings.nodePath } : process.versions.electron ? {} : { runtimeExecutable: process.execPath }),
      sourceMaps: true,
      // The toolkit may live in node_modules (the workspace's cv-workbench): its maps count too.
      resolveSourceMapLocations: [`${cwd}/**`, `${cvw.packageRoot}/**`],
      // Compiled files whose maps may hold a breakpoint's source before they load (custom modules
      // need none: they are compiled as they load, under their own path).
      outFiles: cvw.packageRoot.split(/[\\/]/).includes('node_modules') ? [`${cvw.packageRoot}/dist/**/*.js`] : [`${cvw.packageRoot}/dist/**/*.js`, `${cwd}/**/*.js`, '!**/node_modules/**'],
      skipFiles: ['<node_internals>/**'],
      autoAttachChildProcesses: true,
      cvwTraining: true,
    };
  }
}
