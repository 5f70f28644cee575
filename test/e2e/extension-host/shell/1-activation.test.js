// The extension stays asleep until a config is opened, then wakes up with its commands.
'use strict';
const assert = require('node:assert/strict');
const vscode = require('vscode');
const { test, waitFor } = require('../framework');
const { EXTENSION_ID, workspacePath, openEditor } = require('./helpers');

test('is not active while no config is open (this workspace has no configs/ folder)', () => {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed`);
  assert.equal(ext.isActive, false);
});

test('opening a YAML whose content makes it a config activates the extension', async () => {
  await openEditor(workspacePath('elsewhere/ssl.yaml'));
  await waitFor(() => vscode.extensions.getExtension(EXTENSION_ID).isActive, { message: () => 'the extension did not activate' });
});

test('every command shown in the palette is registered, in the CV Workbench category', async () => {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  const registered = new Set(await vscode.commands.getCommands(true));
  const missing = ext.packageJSON.contributes.commands.map((c) => c.command).filter((c) => !registered.has(c));
  assert.deepEqual(missing, [], 'contributed commands without a handler');
  for (const c of ext.packageJSON.contributes.commands) assert.equal(c.category, 'CV Workbench', `${c.command} is in the CV Workbench category`);
});
