// Live diagnostics: the CLI's validator, on unsaved buffers, re-run for configs whose base changed.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const vscode = require('vscode');
const { test } = require('../framework');
const { workspacePath, extensionApi, cliProblems, editorProblems, sortProblems, diagnosticsOf, openEditor, waitForDiagnostics } = require('./helpers');

test('an invalid config shows exactly the problems `cvw validate` prints', async () => {
  const api = await extensionApi();
  const bad = workspacePath('lab/bad.yaml');
  await openEditor(bad);
  await waitForDiagnostics(bad, (ds) => ds.length > 0);
  await api.diagnostics.settled();
  const ssl = workspacePath('elsewhere/ssl.yaml'); // opened by the activation test
  assert.deepEqual(editorProblems(), sortProblems(cliProblems(bad, ssl)));
  const [d] = diagnosticsOf(bad);
  assert.equal(d.message, 'unknown backbone "ResNte" — did you mean "ResNet"?');
  assert.deepEqual([d.range.start.line, d.range.start.character, d.range.end.character], [3, 10, 16]);
  assert.equal(d.severity, vscode.DiagnosticSeverity.Error);
  assert.equal(d.code, 'unknown-type');
});

test('a YAML file that is not a config gets no diagnostics', async () => {
  const api = await extensionApi();
  const ci = workspacePath('notes/ci.yaml');
  await openEditor(ci);
  await api.diagnostics.settled();
  assert.deepEqual(diagnosticsOf(ci), []);
});

test('typing a mistake shows it, undoing it clears it (unsaved buffer)', async () => {
  const good = workspacePath('lab/good.yaml');
  const editor = await openEditor(good);
  assert.deepEqual(diagnosticsOf(good), []);
  await editor.edit((e) => e.insert(new vscode.Position(2, 0), 'model:\n  backbone:\n    depht: 18\n'));
  const [d] = await waitForDiagnostics(good, (ds) => ds.length === 1);
  assert.match(d.message, /depht/);
  assert.equal(d.range.start.line, 4);
  assert.ok(editor.document.isDirty, 'checked before saving');
  // The CLI, on the same text, says the same thing at the same place.
  await editor.document.save();
  const [cli] = cliProblems(good);
  assert.equal(d.message, cli.message);
  assert.deepEqual([d.range.start.line, d.range.start.character], [cli.range.start.line, cli.range.start.character]);
  await vscode.commands.executeCommand('undo');
  await waitForDiagnostics(good, (ds) => ds.length === 0);
  await editor.document.save();
});

test('editing a base file re-checks the configs that inherit from it', async () => {
  const child = workspacePath('lab/child.yaml');
  const base = workspacePath('lab/_base_/model.yaml');
  await openEditor(child);
  const api = await extensionApi();
  await api.diagnostics.settled();
  assert.deepEqual(diagnosticsOf(child), []);
  const baseEditor = await openEditor(base);
  const typeLine = baseEditor.document.getText().split('\n').findIndex((l) => l.trim() === 'type: ResNet');
  assert.ok(typeLine > 0, 'the base names the backbone');
  await baseEditor.edit((e) => e.delete(baseEditor.document.lineAt(typeLine).rangeIncludingLineBreak));
  // child.yaml itself did not change: only the merged config did.
  const [d] = await waitForDiagnostics(child, (ds) => ds.length === 1);
  assert.match(d.message, /missing "type"/);
  assert.equal(d.range.start.line, 2);
  await vscode.commands.executeCommand('undo');
  await waitForDiagnostics(child, (ds) => ds.length === 0);
});

test('creating a missing _base_ file on disk clears its "not found" error', async () => {
  const file = workspacePath('lab/missing-base.yaml');
  await openEditor(file);
  const [d] = await waitForDiagnostics(file, (ds) => ds.length === 1);
  assert.match(d.message, /_base_ file not found/);
  fs.writeFileSync(workspacePath('lab/_base_/later.yaml'), 'seed: 5\n');
  await waitForDiagnostics(file, (ds) => ds.length === 0);
});

test('the Validate Config command returns what the CLI prints, and keeps it after closing', async () => {
  const bad = workspacePath('lab/bad.yaml');
  const problems = await vscode.commands.executeCommand('cvWorkbench.validateConfig', vscode.Uri.file(bad));
  assert.deepEqual(
    problems.map((p) => ({ file: p.file, range: p.range, severity: p.severity, message: p.message })),
    cliProblems(bad),
  );
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  const api = await extensionApi();
  await api.diagnostics.settled();
  assert.equal(diagnosticsOf(bad).length, 1, 'validated on request: kept in Problems after its editor closed');
});
