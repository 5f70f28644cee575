/**
 * Go to definition in configs (an adapter of src/core/language/definition.ts), and the read-only
 * `cvw-doc:` documents that show a built-in component's documentation page.
 */
import * as vscode from 'vscode';
import { componentPage } from '../../core/language/componentDocs';
import { definition } from '../../core/language/definition';
import { isComponentKind } from '../../core/kinds';
import { ensureRegistry } from '../registry';
import { configDocumentOf, fromVsPosition, toVsRange } from './documents';

export const DOC_SCHEME = 'cvw-doc';

/** `cvw-doc:/backbone/ResNet.md`: markdown, so the editor highlights it and offers its preview. */
export function componentDocUri(kind: string, type: string): vscode.Uri {
  return vscode.Uri.from({ scheme: DOC_SCHEME, path: `/${kind}/${type}.md` });
}

export class ComponentDocProvider implements vscode.TextDocumentContentProvider {
  provideTextDocumentContent(uri: vscode.Uri): string {
    ensureRegistry();
    const m = /^\/([a-z_]+)\/([A-Za-z_][A-Za-z0-9_]*)\.md$/.exec(uri.path);
    if (!m || !isComponentKind(m[1])) return `# Unknown page\n\n${uri.toString()} names no component.\n`;
    return componentPage(m[1], m[2]);
  }
}

export class ConfigDefinitionProvider implements vscode.DefinitionProvider {
  provideDefinition(document: vscode.TextDocument, position: vscode.Position): vscode.LocationLink[] | undefined {
    const doc = configDocumentOf(document);
    const d = doc && definition(doc, fromVsPosition(position));
    if (!d) return undefined;
    const origin = toVsRange(d.origin);
    if (d.target.kind === 'file') {
      const range = toVsRange(d.target.range);
      return [{ originSelectionRange: origin, targetUri: vscode.Uri.file(d.target.file), targetRange: range, targetSelectionRange: range }];
    }
    const top = new vscode.Range(0, 0, 0, 0);
    return [{ originSelectionRange: origin, targetUri: componentDocUri(d.target.componentKind, d.target.type), targetRange: top, targetSelectionRange: top }];
  }
}
