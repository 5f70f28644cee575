/** Completion in configs: a thin adapter of src/core/language/completion.ts. */
import * as vscode from 'vscode';
import { completions, type CompletionItem, type CompletionKind } from '../../core/language/completion';
import { configDocumentOf, fromVsPosition, toVsRange } from './documents';

const KINDS: Record<CompletionKind, vscode.CompletionItemKind> = {
  component: vscode.CompletionItemKind.Class,
  property: vscode.CompletionItemKind.Property,
  value: vscode.CompletionItemKind.EnumMember,
  file: vscode.CompletionItemKind.File,
  folder: vscode.CompletionItemKind.Folder,
};

/** After `type: ` (space) and after a `/` in a path, completion opens by itself. */
export const COMPLETION_TRIGGERS = [' ', '/', '"'];

export class ConfigCompletionProvider implements vscode.CompletionItemProvider {
  provideCompletionItems(document: vscode.TextDocument, position: vscode.Position): vscode.CompletionItem[] | undefined {
    const doc = configDocumentOf(document);
    if (!doc) return undefined;
    return completions(doc, fromVsPosition(position)).map(toVsItem);
  }
}

function toVsItem(c: CompletionItem): vscode.CompletionItem {
  const item = new vscode.CompletionItem(c.label, KINDS[c.kind]);
  item.detail = c.detail;
  if (c.documentation) item.documentation = new vscode.MarkdownString(c.documentation);
  item.insertText = c.snippet ? new vscode.SnippetString(c.insertText) : c.insertText;
  item.range = toVsRange(c.range);
  item.sortText = c.sortText;
  item.filterText = c.filterText;
  if (c.retrigger) item.command = { command: 'editor.action.triggerSuggest', title: 'Suggest' };
  return item;
}
