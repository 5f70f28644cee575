'use strict';
// The component catalogue (issue 13): the Components view, Insert into Config, New Experiment.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const vscode = require('vscode');
const { test } = require('../framework');
const { extensionApi, openEditor, registeredNames, workspacePath, waitForDiagnostics } = require('./helpers');

test('the Components view groups every registered component by kind', async () => {
  const { catalog } = await extensionApi();
  const kinds = catalog.tree.getChildren().map((n) => n.kind);
  assert.ok(kinds.includes('backbone') && kinds.includes('optimizer') && kinds.includes('model'), `kinds: ${kinds}`);
  const backbones = catalog.tree.getChildren({ kind: 'backbone' }).map((n) => n.type);
  assert.deepEqual(backbones, registeredNames('backbone'));
  const item = catalog.tree.getTreeItem({ kind: 'backbone', type: 'ResNet' });
  assert.equal(item.command.command, 'cvWorkbench.showComponentDoc');
  assert.match(String(item.description), /Residual/);
  await vscode.commands.executeCommand('cvWorkbench.showComponentDoc', { kind: 'backbone', type: 'ResNet' });
  const doc = vscode.window.activeTextEditor.document;
  assert.equal(doc.uri.toString(), 'cvw-doc:/backbone/ResNet.md');
  assert.match(doc.getText(), /^# ResNet/);
});

test('Insert into Config writes the type and the required parameters at the cursor', async () => {
  fs.writeFileSync(workspacePath('configs/insert.yaml'), 'model:\n  type: Classification\n  backbone:\n    \n  head: {type: ClsHead}\n\n');
  const editor = await openEditor('configs/insert.yaml');
  editor.selection = new vscode.Selection(3, 4, 3, 4);
  assert.ok(await vscode.commands.executeCommand('cvWorkbench.insertComponent', { kind: 'backbone', type: 'ResNet' }));
  assert.equal(editor.document.lineAt(3).text, '    type: ResNet');
  editor.selection = new vscode.Selection(5, 0, 5, 0);
  assert.ok(await vscode.commands.executeCommand('cvWorkbench.insertComponent', { kind: 'optimizer', type: 'SGD' }));
  assert.equal(editor.document.getText().split('\n').slice(5, 7).join('\n'), 'type: SGD\nlr: 1');
  await waitForDiagnostics(editor.document.uri, (ds) => ds.some((d) => d.message.includes('unknown top-level key "type"')));
});

test('New Experiment from Template runs cvw init and opens a config that validates', async () => {
  const file = await vscode.commands.executeCommand('cvWorkbench.newExperiment', 'Classification', 'configs/new_experiment.yaml');
  assert.equal(file, workspacePath('configs/new_experiment.yaml'));
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /^# Classification: /);
  assert.match(text, /# Seed of every random choice/);
  assert.equal(vscode.window.activeTextEditor.document.uri.fsPath, file);
  await waitForDiagnostics(vscode.Uri.file(file), (ds) => ds.length === 0);
}, { timeout: 90_000 });
