'use strict';
const assert = require('node:assert/strict');
const vscode = require('vscode');
const { test } = require('../framework');
const { openEditor, diagnosticsOf, waitForDiagnostics, positionOf, quickFixesAt } = require('./helpers');

test('the quick fix of a misspelt backbone replaces it and the diagnostic goes away', async () => {
  const editor = await openEditor('configs/typo.yaml');
  const uri = editor.document.uri;
  const [d] = await waitForDiagnostics(uri, (ds) => ds.length === 1);
  assert.equal(d.message, 'unknown backbone "ResNte" — did you mean "ResNet"?');
  const actions = await quickFixesAt(uri, d.range);
  const fix = actions.find((a) => a.title === 'Change to "ResNet"');
  assert.ok(fix, `offered: ${JSON.stringify(actions.map((a) => a.title))}`);
  assert.equal(fix.isPreferred, true);
  assert.ok(await vscode.workspace.applyEdit(fix.edit));
  assert.equal(editor.document.lineAt(d.range.start.line).text, '    type: ResNet');
  await waitForDiagnostics(uri, (ds) => ds.length === 0);
  await vscode.commands.executeCommand('undo');
  await waitForDiagnostics(uri, (ds) => ds.length === 1);
});

test('removing an unknown key and adding a missing parameter', async () => {
  const editor = await openEditor('configs/typo.yaml');
  const uri = editor.document.uri;
  const head = positionOf(editor.document, '    num_classes: 10');
  await editor.edit((e) => e.replace(new vscode.Range(head.line, 0, head.line, 19), '    colour: red'));
  try {
    const ds = await waitForDiagnostics(uri, (x) => x.some((d) => d.code === 'unknown-key'));
    const unknown = ds.find((d) => d.code === 'unknown-key');
    const actions = await quickFixesAt(uri, unknown.range);
    const remove = actions.find((a) => a.title === 'Remove "colour"');
    assert.ok(remove, `offered: ${JSON.stringify(actions.map((a) => a.title))}`);
    assert.ok(await vscode.workspace.applyEdit(remove.edit));
    assert.ok(!editor.document.getText().includes('colour'));
    await waitForDiagnostics(uri, (x) => !x.some((d) => d.code === 'unknown-key'));
  } finally {
    await vscode.commands.executeCommand('undo');
    await vscode.commands.executeCommand('undo');
  }
  assert.equal(diagnosticsOf(uri).length >= 1, true);
});

test('the outline lists sections and components by type', async () => {
  const editor = await openEditor('configs/_base_/model.yaml');
  const symbols = await vscode.commands.executeCommand('vscode.executeDocumentSymbolProvider', editor.document.uri);
  const model = symbols.find((s) => s.name === 'model');
  assert.ok(model, JSON.stringify(symbols.map((s) => s.name)));
  assert.equal(model.detail, 'Classification');
  assert.equal(model.kind, vscode.SymbolKind.Class);
  assert.deepEqual(model.children.map((c) => c.name), ['type', 'backbone', 'head']);
  assert.equal(model.children[1].detail, 'ResNet');
});

test('a CodeLens on the first line validates the config', async () => {
  const editor = await openEditor('configs/child.yaml');
  const lenses = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', editor.document.uri);
  const validate = lenses.find((l) => l.command && l.command.title === 'Validate');
  assert.ok(validate, JSON.stringify(lenses.map((l) => l.command && l.command.title)));
  assert.equal(validate.range.start.line, 0);
  assert.equal(validate.command.command, 'cvWorkbench.validateConfig');
  assert.equal(validate.command.arguments[0].fsPath, editor.document.uri.fsPath);
});
