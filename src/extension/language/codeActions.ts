/**
 * Quick fixes for the config diagnostics: an adapter of src/core/language/quickFixes.ts.
 *
 * A VS Code diagnostic carries no data beyond its message and code, so the problems behind the
 * diagnostics in view are found again by validating (milliseconds): first the document itself,
 * then, for a problem that only shows when a child config is merged over this base file, the
 * other open configs.
 */
import * as vscode from 'vscode';
import { checkConfig } from '../../core/check';
import { quickFixes } from '../../core/language/quickFixes';
import { ConfigDocument } from '../../core/language/configDocument';
import type { Problem } from '../../core/problems';
import { isConfigDocument } from '../configDocuments';
import { ensureRegistry } from '../registry';
import { trustCheckOptions, workspaceTrusted } from '../trust';
import { DIAGNOSTIC_SOURCE } from './diagnostics';
import { openBufferReader, toVsRange } from './documents';

export class ConfigQuickFixProvider implements vscode.CodeActionProvider {
  static readonly providedCodeActionKinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] | undefined {
    const diagnostics = context.diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE);
    if (!diagnostics.length) return undefined;
    ensureRegistry();
    const readText = openBufferReader();
    const file = document.uri.fsPath;
    const problems = problemsBehind(file, diagnostics, readText);
    const doc = new ConfigDocument(file, document.getText(), { readText, customImports: workspaceTrusted() });
    return quickFixes(doc, problems).map((fix) => {
      const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
      action.diagnostics = diagnostics.filter((d) => sameProblem(d, fix.problem));
      action.isPreferred = fix.preferred;
      action.edit = new vscode.WorkspaceEdit();
      for (const e of fix.edits) action.edit.replace(document.uri, toVsRange(e.range), e.newText);
      return action;
    });
  }
}

function sameProblem(d: vscode.Diagnostic, p: Problem): boolean {
  return d.message === p.message && d.range.start.line === p.range.start.line && d.range.start.character === p.range.start.character;
}

/** The validator's problems (with their suggestions and data) behind `diagnostics` of `file`. */
function problemsBehind(file: string, diagnostics: vscode.Diagnostic[], readText: (f: string) => string | undefined): Problem[] {
  const found: Problem[] = [];
  const unmatched = new Set(diagnostics);
  const candidates = [file, ...vscode.workspace.textDocuments.filter((d) => d.uri.scheme === 'file' && d.uri.fsPath !== file && isConfigDocument(d)).map((d) => d.uri.fsPath)];
  for (const config of candidates) {
    if (!unmatched.size) break;
    let problems: Problem[];
    try {
      problems = checkConfig(config, { readText, ...trustCheckOptions() }).problems;
    } catch {
      continue;
    }
    for (const p of problems) {
      if (p.file !== file) continue;
      const d = [...unmatched].find((x) => sameProblem(x, p));
      if (!d) continue;
      unmatched.delete(d);
      found.push(p);
    }
  }
  return found;
}
