/** Hover in configs: a thin adapter of src/core/language/hover.ts. */
import * as vscode from 'vscode';
import { hover } from '../../core/language/hover';
import { configDocumentOf, fromVsPosition, toVsRange } from './documents';

export class ConfigHoverProvider implements vscode.HoverProvider {
  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const doc = configDocumentOf(document);
    const h = doc && hover(doc, fromVsPosition(position));
    return h ? new vscode.Hover(new vscode.MarkdownString(h.markdown), toVsRange(h.range)) : undefined;
  }
}
