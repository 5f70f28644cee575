// The explorer's Train, Debug and Submit entries show on trainable configs only: the extension
// lists them (src/extension/configIndex.ts) in the context key package.json's menus ask.
'use strict';
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { test, waitFor } = require('../framework');
const { EXTENSION_ID, extensionApi, workspacePath } = require('./helpers');

function listed(api) {
  const root = vscode.workspace.workspaceFolders[0].uri.fsPath;
  return api.configIndex.list().map((f) => path.relative(root, f));
}

test('the configs are those under the glob and YAML that says so, never a _base_ fragment or other YAML', async () => {
  const api = await extensionApi();
  await api.configIndex.ready;
  assert.deepEqual(listed(api), ['elsewhere/ssl.yaml', 'lab/bad.yaml', 'lab/child.yaml', 'lab/good.yaml', 'lab/missing-base.yaml']);
});

test('the list follows the files: a new config appears, one edited into something else and a deleted one go', async () => {
  const api = await extensionApi();
  const extra = workspacePath('notes/extra.yaml');
  fs.writeFileSync(extra, 'model:\n  type: Classification\n');
  fs.writeFileSync(workspacePath('lab/_base_/new.yaml'), 'model:\n  type: Classification\n');
  await waitFor(() => listed(api).includes('notes/extra.yaml'), { message: () => `listed: ${listed(api)}` });
  fs.writeFileSync(extra, 'name: release\n');
  await waitFor(() => !listed(api).includes('notes/extra.yaml'), { message: () => `listed: ${listed(api)}` });
  fs.writeFileSync(extra, '_base_: ../lab/good.yaml\n');
  await waitFor(() => listed(api).includes('notes/extra.yaml'), { message: () => `listed: ${listed(api)}` });
  fs.rmSync(extra);
  await waitFor(() => !listed(api).includes('notes/extra.yaml'), { message: () => `listed: ${listed(api)}` });
  assert.ok(!listed(api).includes('lab/_base_/new.yaml'));
  fs.rmSync(workspacePath('lab/_base_/new.yaml'));
});

test('a FIFO named like a config is skipped, not read (reading it would block the extension host)', async () => {
  const api = await extensionApi();
  const fifo = workspacePath('notes/pipe.yaml');
  execFileSync('mkfifo', [fifo]);
  const marker = workspacePath('notes/after.yaml');
  fs.writeFileSync(marker, 'model:\n  type: Classification\n');
  try {
    // The marker, created after the FIFO, is listed: the watcher got past the FIFO.
    await waitFor(() => listed(api).includes('notes/after.yaml'), { message: () => `listed: ${listed(api)}` });
    assert.ok(!listed(api).includes('notes/pipe.yaml'));
  } finally {
    fs.rmSync(fifo);
    fs.rmSync(marker);
  }
});

test("the explorer's Train, Debug and Submit to Slurm entries ask the list", () => {
  const menus = vscode.extensions.getExtension(EXTENSION_ID).packageJSON.contributes.menus['explorer/context'];
  for (const command of ['cvWorkbench.train', 'cvWorkbench.debugTraining', 'cvWorkbench.submitToSlurm']) {
    const entry = menus.find((m) => m.command === command);
    assert.match(entry.when, /^resourcePath in cvWorkbench\.trainableConfigs\b/, command);
  }
});
