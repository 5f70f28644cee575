// Helpers of the shell suite: the extension under test and the CLI it must agree with.
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

/** The extension, activated; its exports are the CvWorkbenchApi of src/extension/extension.ts. */
async function extensionApi() {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not installed`);
  return ext.activate();
}

/** `cvw validate --json` on `files`, as users run it in a terminal ($CVW_E2E_CLI: the harness's bundle of the CLI). */
function cliProblems(...files) {
  const cvw = process.env.CVW_E2E_CLI || path.join(REPO_ROOT, 'bin', 'cvw.js');
  let out;
  try {
    out = execFileSync(process.execPath, [cvw, 'validate', '--json', ...files], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (err.status !== 1) throw new Error(`${cvw} validate failed (status ${err.status}): ${err.stderr}`);
    out = err.stdout; // exit status 1 means "has errors"
  }
  return JSON.parse(out).map((p) => ({ file: p.file, range: p.range, severity: p.severity, message: p.message }));
}

const SEVERITY = ['error', 'warning', 'info', 'hint'];

/** Every cvw diagnostic the editor holds, in the CLI's JSON shape, sorted the same way. */
function editorProblems() {
  const out = [];
  for (const [uri, diags] of vscode.languages.getDiagnostics()) {
    for (const d of diags) {
      if (d.source !== 'cvw') continue;
      out.push({
        file: uri.fsPath,
        range: { start: { line: d.range.start.line, character: d.range.start.character }, end: { line: d.range.end.line, character: d.range.end.character } },
        severity: SEVERITY[d.severity],
        message: d.message,
      });
    }
  }
  return sortProblems(out);
}

function sortProblems(ps) {
  return [...ps].sort((a, b) => a.file.localeCompare(b.file) || a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character || a.message.localeCompare(b.message));
}

function diagnosticsOf(file) {
  return vscode.languages.getDiagnostics(vscode.Uri.file(file)).filter((d) => d.source === 'cvw');
}

async function openEditor(file) {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  return vscode.window.showTextDocument(doc, { preview: false });
}

/** Wait until the live diagnostics of `file` satisfy `predicate(diagnostics)`; returns them. */
function waitForDiagnostics(file, predicate, timeout = 15_000) {
  return waitFor(() => {
    const ds = diagnosticsOf(file);
    return predicate(ds) && ds;
  }, {
    timeout,
    message: () => `diagnostics of ${path.basename(file)}: ${JSON.stringify(diagnosticsOf(file).map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`))}`,
  });
}

module.exports = { REPO_ROOT, EXTENSION_ID, workspacePath, extensionApi, cliProblems, editorProblems, sortProblems, diagnosticsOf, openEditor, waitForDiagnostics };
