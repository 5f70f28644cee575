/**
 * The Components view: every registered component (built-in and custom) grouped by kind, from the
 * same registry as validation and `cvw list`. Clicking one shows its documentation page;
 * "Insert into config" writes its `type` and required parameters at the cursor.
 */
import * as vscode from 'vscode';
import { COMPONENT_KINDS, KIND_NAMES, type ComponentKind } from '../../core/kinds';
import { registries, type RegisteredComponent } from '../../core/registry';
import { componentDocUri } from '../language/definition';
import { ensureRegistry } from '../registry';
import { CATALOG_COMMANDS } from '../ids';

export type CatalogNode = { kind: ComponentKind } | { kind: ComponentKind; type: string };

export class ComponentsTreeProvider implements vscode.TreeDataProvider<CatalogNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<CatalogNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  /** Custom components come and go with custom_imports; the view is rebuilt on request. */
  refresh(): void {
    this.changed.fire(undefined);
  }

  getChildren(node?: CatalogNode): CatalogNode[] {
    ensureRegistry();
    if (!node) return COMPONENT_KINDS.filter((k) => registries[k].names().length > 0).map((kind) => ({ kind }));
    if ('type' in node) return [];
    return registries[node.kind].names().map((type) => ({ kind: node.kind, type }));
  }

  getTreeItem(node: CatalogNode): vscode.TreeItem {
    if (!('type' in node)) {
      const many = KIND_NAMES[node.kind].many;
      const item = new vscode.TreeItem(many.charAt(0).toUpperCase() + many.slice(1), vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `kind:${node.kind}`;
      item.description = String(registries[node.kind].names().length);
      item.contextValue = 'cvwKind';
      return item;
    }
    const entry = registries[node.kind].get(node.type) as RegisteredComponent | undefined;
    const item = new vscode.TreeItem(node.type, vscode.TreeItemCollapsibleState.None);
    item.id = `component:${node.kind}:${node.type}`;
    item.description = entry?.description;
    item.tooltip = new vscode.MarkdownString(`**${node.type}** (${KIND_NAMES[node.kind].one})\n\n${entry?.description ?? ''}${entry?.paper ? `\n\n*Follows:* ${entry.paper}` : ''}`);
    item.contextValue = entry?.builtin === false ? 'cvwComponent.custom' : 'cvwComponent';
    item.command = { command: CATALOG_COMMANDS.showComponentDoc, title: 'Show Documentation', arguments: [node] };
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** The documentation page of a component (the same `cvw-doc:` page as go to definition). */
export async function showComponentDoc(node: { kind: ComponentKind; type: string }): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(componentDocUri(node.kind, node.type));
  await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: false });
}
