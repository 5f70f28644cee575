'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const vscode = require('vscode');
const { test } = require('../framework');
const { openEditor, positionOf, hoverText, workspacePath } = require('./helpers');

test('hover over a type name shows the component and its parameters', async () => {
  const editor = await openEditor('configs/_base_/model.yaml');
  const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', editor.document.uri, positionOf(editor.document, 'ResNet', { offset: 2 }));
  const text = hoverText(hovers);
  assert.match(text, /\*\*ResNet\*\* — backbone/);
  assert.match(text, /He et al\./);
  assert.match(text, /`zero_init_residual`/);
});

test('hover over an overriding key names the base file that set it', async () => {
  const editor = await openEditor('configs/child.yaml');
  const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', editor.document.uri, positionOf(editor.document, 'depth', { offset: 1 }));
  assert.match(hoverText(hovers), /Overrides `50` set in `_base_\/model\.yaml:5`/);
});

test('go to definition: a _base_ path opens the file, a built-in type its documentation page', async () => {
  const editor = await openEditor('configs/child.yaml');
  const [base] = await vscode.commands.executeCommand('vscode.executeDefinitionProvider', editor.document.uri, positionOf(editor.document, '_base_/model', { offset: 8 }));
  assert.equal((base.targetUri ?? base.uri).fsPath, workspacePath('configs/_base_/model.yaml'));

  const model = await openEditor('configs/_base_/model.yaml');
  const [doc] = await vscode.commands.executeCommand('vscode.executeDefinitionProvider', model.document.uri, positionOf(model.document, 'ClsHead', { offset: 1 }));
  const uri = doc.targetUri ?? doc.uri;
  assert.equal(uri.scheme, 'cvw-doc');
  const page = await vscode.workspace.openTextDocument(uri);
  assert.match(page.getText(), /^# ClsHead\n/);
  assert.match(page.getText(), /## Parameters/);
});

test('go to definition of a custom component opens its registration in the workspace module', async () => {
  const editor = await openEditor('configs/child.yaml');
  const [def] = await vscode.commands.executeCommand('vscode.executeDefinitionProvider', editor.document.uri, positionOf(editor.document, 'ShinyNeck', { offset: 1 }));
  const uri = def.targetUri ?? def.uri;
  const range = def.targetSelectionRange ?? def.range;
  assert.equal(uri.fsPath, workspacePath('modules/shiny_neck.ts'));
  const module = await vscode.workspace.openTextDocument(uri);
  assert.equal(module.getText(range), 'ShinyNeck');
  assert.equal(path.basename(uri.fsPath), 'shiny_neck.ts');
});
