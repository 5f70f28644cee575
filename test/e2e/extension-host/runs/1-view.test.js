// The Runs view lists what work_dirs holds, grouped by config, before anything runs.
'use strict';
const assert = require('node:assert/strict');
const vscode = require('vscode');
const { test } = require('../framework');
const { runsApi, workspacePath } = require('./helpers');

test('the Runs view lists the run already in work_dirs under its config, with its final metric', async () => {
  const runs = await runsApi();
  const old = workspacePath('work_dirs/tiny/20260101-120000');
  const record = runs.service.get(old);
  assert.ok(record, 'the old run is known');
  assert.equal(record.state, 'finished');
  const groups = runs.tree.getChildren();
  assert.deepEqual(groups.map((g) => g.group), ['tiny']);
  const items = runs.tree.getChildren(groups[0]).map((n) => runs.tree.getTreeItem(n));
  assert.equal(items.length, 1);
  assert.equal(items[0].label, '20260101-120000');
  assert.match(items[0].description, /^finished · .* · 42s · loss 2\.25 · val\/accuracy_top1 0\.25$/);
  assert.equal(items[0].contextValue, 'cvwRun.finished');
  await vscode.commands.executeCommand('workbench.view.extension.cvWorkbench');
});

test('the run commands and the cvw task type and debugger are contributed', async () => {
  const all = new Set(await vscode.commands.getCommands(true));
  for (const id of ['cvWorkbench.train', 'cvWorkbench.debugTraining', 'cvWorkbench.evaluate', 'cvWorkbench.export', 'cvWorkbench.benchmark', 'cvWorkbench.stopRun', 'cvWorkbench.resumeRun', 'cvWorkbench.deleteRun']) {
    assert.ok(all.has(id), `${id} is registered`);
  }
  const pkg = vscode.extensions.getExtension('cv-workbench.cv-workbench').packageJSON;
  assert.equal(pkg.contributes.taskDefinitions[0].type, 'cvw');
  assert.equal(pkg.contributes.debuggers[0].type, 'cvw');
});
