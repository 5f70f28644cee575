'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const vscode = require('vscode');
const { test } = require('../framework');
const { openEditor, positionOf, completionLabels, waitForDiagnostics, workspacePath, waitFor } = require('./helpers');

test('editing a custom module: its new component and parameters reach completion and validation, no reload', async () => {
  const editor = await openEditor('configs/child.yaml');
  const uri = editor.document.uri;
  await waitForDiagnostics(uri, (ds) => ds.length === 0);
  // A parameter the module does not declare yet.
  const width = positionOf(editor.document, '    width: 4');
  await editor.edit((e) => e.insert(new vscode.Position(width.line + 1, 0), '    gain: 2\n'));
  const [unknown] = await waitForDiagnostics(uri, (ds) => ds.length === 1);
  assert.match(unknown.message, /unknown key "gain" in neck "ShinyNeck"/);

  const module = workspacePath('modules/shiny_neck.ts');
  const before = fs.readFileSync(module, 'utf8');
  const after = before
    .replace("z.strictObject({ width:", "z.strictObject({ gain: z.number().default(1).describe('Output gain'), width:")
    .concat("\nregister('neck', { type: 'GlossyNeck', description: 'Another neck', params: z.strictObject({}) });\n");
  fs.writeFileSync(module, after);
  // Make the change visible to the mtime check even within the file system's time resolution.
  const later = new Date(Date.now() + 2000);
  fs.utimesSync(module, later, later);
  try {
    await waitForDiagnostics(uri, (ds) => ds.length === 0, 20_000);
    const at = positionOf(editor.document, 'ShinyNeck', { offset: 2 });
    const labels = await waitFor(async () => {
      const l = await completionLabels(uri, at);
      return l.includes('GlossyNeck') && l;
    });
    assert.ok(labels.includes('ShinyNeck'));
  } finally {
    fs.writeFileSync(module, before);
    await vscode.commands.executeCommand('undo');
  }
});
