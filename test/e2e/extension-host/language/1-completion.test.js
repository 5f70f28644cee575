'use strict';
const assert = require('node:assert/strict');
const vscode = require('vscode');
const { test } = require('../framework');
const { extensionApi, openEditor, registeredNames, positionOf, completionLabels } = require('./helpers');

test('completion in a backbone slot offers exactly the registered backbones', async () => {
  await extensionApi();
  const editor = await openEditor('configs/typo.yaml');
  const at = positionOf(editor.document, 'ResNte', { offset: 3 });
  const labels = await completionLabels(editor.document.uri, at);
  assert.deepEqual([...labels].sort(), registeredNames('backbone'));
  assert.ok(labels.includes('ResNet'));
});

test('completion in a head slot offers heads, and a model slot models', async () => {
  const editor = await openEditor('configs/typo.yaml');
  assert.deepEqual((await completionLabels(editor.document.uri, positionOf(editor.document, 'ClsHead'))).sort(), registeredNames('head'));
  assert.deepEqual((await completionLabels(editor.document.uri, positionOf(editor.document, 'Classification'))).sort(), registeredNames('model'));
});

test('parameters of a backbone whose type is set in a _base_ file, on a new line', async () => {
  const editor = await openEditor('configs/child.yaml');
  const depth = positionOf(editor.document, '    depth: 18');
  await editor.edit((e) => e.insert(new vscode.Position(depth.line + 1, 0), '    \n'));
  try {
    const labels = await completionLabels(editor.document.uri, new vscode.Position(depth.line + 1, 4));
    assert.ok(labels.includes('stem') && labels.includes('zero_init_residual'), JSON.stringify(labels));
    assert.ok(!labels.includes('depth'), 'depth is already written');
    assert.ok(!labels.includes('type'), 'the type comes from the base file');
  } finally {
    await vscode.commands.executeCommand('undo');
  }
});
