/**
 * "Validate Config" and "Validate All Configs": the editor's `cvw validate`. Problems go to the
 * Problems panel (through the live diagnostics, kept after the editor closes) and, printed exactly
 * as the CLI prints them, to the output channel.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatProblem, type Problem } from '../../core/problems';
import { CONFIG_FILE_PATTERN } from '../configDetection';
import { configGlob } from '../configDocuments';
import type { ConfigDiagnostics } from '../language/diagnostics';

const SHOW_PROBLEMS = 'Show Problems';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The folder paths are printed relative to, as `cvw validate` run from the workspace root would. */
function baseDir(uri: vscode.Uri): string {
  return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(uri.fsPath);
}

function report(output: vscode.OutputChannel, problems: Problem[], cwd: string): number {
  for (const p of problems) output.appendLine(formatProblem(p, cwd));
  return problems.filter((p) => p.severity === 'error').length;
}

async function announce(errors: number, what: string): Promise<void> {
  if (errors === 0) {
    void vscode.window.showInformationMessage(`${what}: no problems`);
    return;
  }
  const choice = await vscode.window.showErrorMessage(`${what}: ${plural(errors, 'error')}`, SHOW_PROBLEMS);
  if (choice === SHOW_PROBLEMS) await vscode.commands.executeCommand('workbench.actions.view.problems');
}

/** Validate the config given (explorer, editor title) or the active editor's. */
export async function validateConfig(diagnostics: ConfigDiagnostics, output: vscode.OutputChannel, uri?: vscode.Uri): Promise<Problem[] | undefined> {
  const target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
  if (!target || target.scheme !== 'file' || !CONFIG_FILE_PATTERN.test(target.fsPath)) {
    void vscode.window.showWarningMessage('Validate Config: open a config file (YAML or JSON) first.');
    return undefined;
  }
  const cwd = baseDir(target);
  output.appendLine(`$ cvw validate ${path.relative(cwd, target.fsPath)}`);
  const problems = diagnostics.checkNow(target.fsPath, { keep: true });
  const errors = report(output, problems, cwd);
  output.appendLine(errors ? `${plural(errors, 'error')} in 1 config` : '1 config OK');
  void announce(errors, path.basename(target.fsPath));
  return problems;
}

/** Validate every config under `cvWorkbench.configGlob` in every workspace folder. */
export async function validateAllConfigs(diagnostics: ConfigDiagnostics, output: vscode.OutputChannel): Promise<Problem[]> {
  const all: Problem[] = [];
  let count = 0;
  let errors = 0;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const files = (await vscode.workspace.findFiles(new vscode.RelativePattern(folder, configGlob(folder)), '**/node_modules/**'))
      .filter((u) => CONFIG_FILE_PATTERN.test(u.fsPath))
      .sort((a, b) => a.fsPath.localeCompare(b.fsPath));
    output.appendLine(`$ cvw validate ${configGlob(folder)}   (in ${folder.uri.fsPath}: ${plural(files.length, 'file')})`);
    for (const uri of files) {
      const problems = diagnostics.checkNow(uri.fsPath, { keep: true });
      errors += report(output, problems, folder.uri.fsPath);
      all.push(...problems);
      count++;
    }
  }
  output.appendLine(errors ? `${plural(errors, 'error')} in ${plural(count, 'config')}` : `${plural(count, 'config')} OK`);
  void announce(errors, plural(count, 'config'));
  return all;
}
