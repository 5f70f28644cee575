/**
 * From VS Code documents to the pure language providers of src/core/language and back: a
 * `ConfigDocument` over the editor's (possibly unsaved) text, with every open buffer visible to
 * `_base_` loading, and conversions of positions and ranges.
 */
import * as vscode from 'vscode';
import { ConfigDocument } from '../../core/language/configDocument';
import type { Position, Range } from '../../core/problems';
import { isConfigDocument } from '../configDocuments';
import { ensureRegistry } from '../registry';
import { workspaceTrusted } from '../trust';

/** The documents the providers register for; each provider then keeps to configs (isConfigDocument). */
export const CONFIG_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', language: 'yaml' },
  { scheme: 'file', language: 'json' },
  { scheme: 'file', language: 'jsonc' },
];

/** The text of open editors by path, so bases being edited are read as they are on screen. */
export function openBufferTexts(): Map<string, string> {
  const texts = new Map<string, string>();
  for (const d of vscode.workspace.textDocuments) if (d.uri.scheme === 'file') texts.set(d.uri.fsPath, d.getText());
  return texts;
}

export function openBufferReader(): (file: string) => string | undefined {
  const texts = openBufferTexts();
  return (file) => texts.get(file);
}

/** The config behind an editor document, or undefined when the document is not a config. */
export function configDocumentOf(document: vscode.TextDocument): ConfigDocument | undefined {
  if (!isConfigDocument(document)) return undefined;
  ensureRegistry();
  // Custom modules are workspace code: loaded for completion, hover and definitions only when trusted.
  return new ConfigDocument(document.uri.fsPath, document.getText(), { readText: openBufferReader(), customImports: workspaceTrusted() });
}

export function toVsRange(r: Range): vscode.Range {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

export function fromVsPosition(p: vscode.Position): Position {
  return { line: p.line, character: p.character };
}
