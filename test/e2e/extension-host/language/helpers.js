// Helpers of the language suite.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const vscode = require('vscode');
const { waitFor } = require('../framework');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const EXTENSION_ID = 'cv-workbench.cv-workbench';

function workspacePath(rel) {
  return path.join(vscode.workspace.workspaceFolders[0].uri.fsPath, rel);
}

async function extensionApi() {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not installed`);
  return ext.activate();
}

async function openEditor(rel) {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(workspacePath(rel)));
  return vscode.window.showTextDocument(doc, { preview: false });
}

/** The registered names of a kind, as `cvw schema` lists them (the CLI and the editor share one registry). */
function registeredNames(kind) {
  const cvw = process.env.CVW_E2E_CLI || path.join(REPO_ROOT, 'bin', 'cvw.js');
  const schema = JSON.parse(execFileSync(process.execPath, [cvw, 'schema'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  return [...schema.$defs[kind].properties.type.enum].sort();
}

/** The position of the `nth` occurrence of `text` in a document (0-based line and character), plus `offset` characters. */
function positionOf(doc, text, { nth = 0, offset = 0 } = {}) {
  const all = doc.getText();
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = all.indexOf(text, at + 1);
    if (at < 0) throw new Error(`"${text}" (#${nth}) is not in ${doc.uri.fsPath}`);
  }
  return doc.positionAt(at + offset);
}

async function completionLabels(uri, position) {
  const list = await vscode.commands.executeCommand('vscode.executeCompletionItemProvider', uri, position);
  return list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
}

/**
 * Quick fixes at a range. VS Code cancels a code-action request when the set of code-action
 * providers for the document changes meanwhile (another extension finishing its activation,
 * e.g. TypeScript after a .ts file was opened): ask again then.
 */
/**
 * The quick fixes offered at `range`, once some are. The provider answers from the diagnostics the
 * workbench passes it, and those reach the workbench after the extension host has them (what
 * waitForDiagnostics sees): on a loaded machine the first request can come before, and gets none.
 */
async function quickFixesAt(uri, range, { timeout = 15_000 } = {}) {
  const deadline = Date.now() + timeout;
  for (let attempt = 1; ; attempt++) {
    let actions;
    try {
      actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', uri, range, vscode.CodeActionKind.QuickFix.value);
    } catch (err) {
      if (attempt >= 5 || !/Canceled/.test(String(err && err.message))) throw err;
    }
    if ((actions && actions.length) || Date.now() > deadline) return actions ?? [];
    await new Promise((r) => setTimeout(r, 250));
  }
}

function hoverText(hovers) {
  return hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
}

function diagnosticsOf(uri) {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'cvw');
}

function waitForDiagnostics(uri, predicate, timeout = 15_000) {
  return waitFor(() => {
    const ds = diagnosticsOf(uri);
    return predicate(ds) && ds;
  }, { timeout, message: () => `diagnostics of ${path.basename(uri.fsPath)}: ${JSON.stringify(diagnosticsOf(uri).map((d) => d.message))}` });
}

module.exports = { REPO_ROOT, workspacePath, extensionApi, openEditor, registeredNames, positionOf, completionLabels, quickFixesAt, hoverText, diagnosticsOf, waitForDiagnostics, waitFor };
