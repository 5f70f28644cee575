/**
 * The component catalogue in the editor (issue 13): the Components view, "Insert into config",
 * and "New Experiment from Template", which runs `cvw init` in a child process.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { COMPONENT_KINDS, KIND_NAMES, isComponentKind, type ComponentKind } from '../../core/kinds';
import { registries } from '../../core/registry';
import { componentInsertion } from '../../core/language/insertComponent';
import { listTemplates, templateSummary } from '../../templates';
import { ensureRegistry } from '../registry';
import { ComponentsTreeProvider, showComponentDoc, type CatalogNode } from './componentsView';
import { CATALOG_COMMANDS, VIEWS } from '../ids';
import { createSampleWorkspace } from '../commands/sampleWorkspace';

/** How the catalogue runs `cvw` (the runs feature's process manager). */
export interface CvwRunner {
  exec(args: string[], cwd: string): { exited: Promise<{ code: number | null }>; tail(lines?: number): string };
}

export interface CatalogApi {
  tree: ComponentsTreeProvider;
  view: vscode.TreeView<CatalogNode>;
}

export function registerCatalog(context: vscode.ExtensionContext, cvw: CvwRunner): CatalogApi {
  const tree = new ComponentsTreeProvider();
  const view = vscode.window.createTreeView(VIEWS.components, { treeDataProvider: tree, showCollapseAll: true });
  context.subscriptions.push(
    tree,
    view,
    vscode.commands.registerCommand(CATALOG_COMMANDS.showComponentDoc, async (node?: { kind: ComponentKind; type: string }) => {
      const picked = node ?? (await pickComponent('Show the documentation of which component?'));
      if (picked) await showComponentDoc(picked);
    }),
    vscode.commands.registerCommand(CATALOG_COMMANDS.insertComponent, async (node?: { kind: ComponentKind; type: string }) => {
      const picked = node ?? (await pickComponent('Insert which component?'));
      return picked ? insertComponent(picked) : false;
    }),
    vscode.commands.registerCommand(CATALOG_COMMANDS.newExperiment, (template?: string, out?: string) => newExperiment(cvw, template, out)),
    vscode.commands.registerCommand(CATALOG_COMMANDS.refreshComponents, () => tree.refresh()),
    // The walkthrough's first step: the committed samples the extension carries, copied into the workspace.
    vscode.commands.registerCommand(CATALOG_COMMANDS.createSampleWorkspace, (folder?: string) => createSampleWorkspace(context.extensionPath, folder)),
    // Saving a custom module may add or remove components.
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (/\.(ts|js|mjs|cjs)$/.test(doc.fileName)) tree.refresh();
    }),
  );
  return { tree, view };
}

async function pickComponent(title: string): Promise<{ kind: ComponentKind; type: string } | undefined> {
  ensureRegistry();
  const items = COMPONENT_KINDS.flatMap((kind) =>
    registries[kind].entries().map((e) => ({ label: e.type, description: KIND_NAMES[kind].one, detail: e.description, componentKind: kind })),
  );
  const picked = await vscode.window.showQuickPick(items, { title, matchOnDescription: true, matchOnDetail: true });
  return picked ? { kind: picked.componentKind, type: picked.label } : undefined;
}

/** Write the component's type and required parameters at the cursor of the active editor. */
export async function insertComponent(node: { kind: ComponentKind | string; type: string }): Promise<boolean> {
  ensureRegistry();
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showWarningMessage('Open a config and put the cursor where the component goes, then insert it.');
    return false;
  }
  const entry = isComponentKind(node.kind) ? registries[node.kind].get(node.type) : undefined;
  if (!entry) {
    void vscode.window.showErrorMessage(`No ${node.kind} named "${node.type}" is registered.`);
    return false;
  }
  const line = editor.document.lineAt(editor.selection.active.line);
  const unit = editor.options.insertSpaces === false ? '\t' : ' '.repeat(Number(editor.options.tabSize) || 2);
  const blank = line.isEmptyOrWhitespace;
  const text = componentInsertion(entry, blank ? line.text || ' '.repeat(editor.selection.active.character) : line.text, unit);
  // On a blank line the block replaces it; on a line with text it goes on a new line below.
  return editor.edit((e) => (blank ? e.replace(line.range, text) : e.insert(line.range.end, '\n' + text)));
}

/** Pick a template, pick where the config goes, run `cvw init`, open the result. */
export async function newExperiment(cvw: CvwRunner, template?: string, out?: string): Promise<string | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!folder) {
    void vscode.window.showErrorMessage('Open a folder first: the new experiment is written into the workspace.');
    return undefined;
  }
  const name =
    template ??
    (
      await vscode.window.showQuickPick(
        listTemplates().map((t) => ({ label: t, detail: templateSummary(t) })),
        { title: 'New experiment from which template?', matchOnDetail: true },
      )
    )?.label;
  if (!name) return undefined;
  const file =
    out ??
    (await vscode.window.showInputBox({
      title: `New ${name} experiment`,
      prompt: 'Config file to write (relative to the workspace)',
      value: path.join('configs', `${name.toLowerCase()}_experiment.yaml`),
      validateInput: (v) => (!v.trim() ? 'Give a file name' : fs.existsSync(path.resolve(folder, v)) ? `${v} exists already` : undefined),
    }));
  if (!file) return undefined;
  const proc = cvw.exec(['init', name, '--out', file], folder);
  const { code } = await proc.exited;
  if (code !== 0) {
    void vscode.window.showErrorMessage(`cvw init ${name} failed: ${proc.tail(5)}`);
    return undefined;
  }
  const abs = path.resolve(folder, file);
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(abs));
  return abs;
}
