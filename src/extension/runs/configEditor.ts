/**
 * What the runs feature adds to config editors: Train / Queue Training / Debug / Browse Views CodeLens, and the context key that
 * shows the Train and Debug buttons in the editor title. Base files (under `_base_/`) are not
 * trained on their own, so they get neither.
 */
import * as vscode from 'vscode';
import { isBaseConfigFile } from '../../core/check';
import { isConfigDocument } from '../configDocuments';
import { CONTEXT, RUN_COMMANDS } from '../ids';
import type { ConfigLensContributor } from '../language';

const isBaseConfig = (doc: vscode.TextDocument) => isBaseConfigFile(doc.uri.fsPath);

export const trainLenses: ConfigLensContributor = (doc) =>
  isBaseConfig(doc)
    ? []
    : [
        { title: '$(play) Train', command: RUN_COMMANDS.train, arguments: [doc.uri], tooltip: 'Train this config (cvw train) in a child process; the run appears in the Runs view' },
        { title: '$(list-ordered) Queue Training', command: RUN_COMMANDS.queueTraining, arguments: [doc.uri], tooltip: 'Add this config (and the arguments you give) to the run queue: work_dirs/.queue.json, started one at a time (cvWorkbench.runs.queueParallel)' },
        { title: '$(debug-alt) Debug', command: RUN_COMMANDS.debugTraining, arguments: [doc.uri], tooltip: 'Train under the debugger: breakpoints in custom modules and the toolkit are hit' },
        { title: '$(eye) Browse Views', command: RUN_COMMANDS.browseViews, arguments: [doc.uri], tooltip: "Draw what this config's training pipelines make of a few images (cvw data browse) and open the picture" },
      ];

/** Keeps `cvWorkbench.editorIsConfig` true while the active editor holds a trainable config. */
export class ConfigEditorContext implements vscode.Disposable {
  private readonly subscription = vscode.window.onDidChangeActiveTextEditor((e) => this.update(e));

  constructor() {
    this.update(vscode.window.activeTextEditor);
  }

  private update(editor: vscode.TextEditor | undefined): void {
    void vscode.commands.executeCommand('setContext', CONTEXT.editorIsConfig, !!editor && isConfigDocument(editor.document) && !isBaseConfig(editor.document));
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
