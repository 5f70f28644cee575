/**
 * CodeLens on the first line of every config: `Validate`, and whatever other parts of the
 * extension add with `addConfigLens` (the runs feature adds `Train | Debug`).
 */
import * as vscode from 'vscode';
import { COMMANDS } from '../ids';
import { isConfigDocument } from '../configDocuments';

/** The commands a contributor shows above a config (each becomes one lens, in order). */
export type ConfigLensContributor = (document: vscode.TextDocument) => vscode.Command[];

const contributors: ConfigLensContributor[] = [(document) => [{ title: 'Validate', command: COMMANDS.validateConfig, arguments: [document.uri], tooltip: 'Check this config as `cvw validate` does' }]];
const changed = new vscode.EventEmitter<void>();

/** Add lenses to every config's first line; dispose the result to remove them. */
export function addConfigLens(contributor: ConfigLensContributor): vscode.Disposable {
  contributors.push(contributor);
  changed.fire();
  return new vscode.Disposable(() => {
    const i = contributors.indexOf(contributor);
    if (i >= 0) contributors.splice(i, 1);
    changed.fire();
  });
}

export class ConfigCodeLensProvider implements vscode.CodeLensProvider {
  readonly onDidChangeCodeLenses = changed.event;

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!isConfigDocument(document)) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    return contributors.flatMap((c) => c(document)).map((command) => new vscode.CodeLens(top, command));
  }
}
