/** The outline of configs: a thin adapter of src/core/language/symbols.ts. */
import * as vscode from 'vscode';
import { documentSymbols, type ConfigSymbol, type ConfigSymbolKind } from '../../core/language/symbols';
import { configDocumentOf, toVsRange } from './documents';

const KINDS: Record<ConfigSymbolKind, vscode.SymbolKind> = {
  section: vscode.SymbolKind.Module,
  component: vscode.SymbolKind.Class,
  mapping: vscode.SymbolKind.Object,
  list: vscode.SymbolKind.Array,
  string: vscode.SymbolKind.String,
  number: vscode.SymbolKind.Number,
  boolean: vscode.SymbolKind.Boolean,
  null: vscode.SymbolKind.Null,
};

export class ConfigSymbolProvider implements vscode.DocumentSymbolProvider {
  provideDocumentSymbols(document: vscode.TextDocument): vscode.DocumentSymbol[] | undefined {
    const doc = configDocumentOf(document);
    return doc ? documentSymbols(doc).map(toVsSymbol) : undefined;
  }
}

function toVsSymbol(s: ConfigSymbol): vscode.DocumentSymbol {
  // VS Code rejects empty names.
  const sym = new vscode.DocumentSymbol(s.name || '""', s.detail ?? '', KINDS[s.kind], toVsRange(s.range), toVsRange(s.selectionRange));
  sym.children = s.children.map(toVsSymbol);
  return sym;
}
