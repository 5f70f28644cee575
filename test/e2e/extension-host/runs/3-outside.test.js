// Runs the editor did not start (a terminal's `cvw train`) and cvw tasks.
'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const vscode = require('vscode');
const { test } = require('../framework');
const { EXTENSION_ID, runsApi, waitForRun, workspacePath } = require('./helpers');

test(
  'a cvw train started in a terminal shows up live, and Stop from the editor stops it by its pid',
  async () => {
    const runs = await runsApi();
    const cvw = path.join(vscode.extensions.getExtension(EXTENSION_ID).extensionPath, 'dist', 'cli', 'cvw.js');
    const dir = workspacePath('work_dirs/long/from-terminal');
    const child = spawn(process.execPath, [cvw, 'train', 'configs/long.yaml', '--work-dir', dir], { cwd: workspacePath('.'), stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const running = await waitForRun(runs, dir, (r) => r.state === 'running' && r.info.iter >= 1);
      assert.equal(running.info.pid, child.pid);
      assert.equal(running.group, 'long');
      await vscode.commands.executeCommand('cvWorkbench.stopRun', dir);
      assert.equal(await exited, 130);
      assert.equal((await waitForRun(runs, dir, (r) => r.state === 'stopped')).resumable, true);
    } finally {
      child.kill('SIGKILL');
    }
  },
  { timeout: 120_000 },
);

test(
  'a cvw task trains a config in a pseudo-terminal; the task ends with cvw\'s exit code',
  async () => {
    const runs = await runsApi();
    const tasks = await vscode.tasks.fetchTasks({ type: 'cvw' });
    const task = tasks.find((t) => t.definition.command === 'train' && t.definition.config === path.join('configs', 'tiny.yaml'));
    assert.ok(task, `a train task for configs/tiny.yaml among ${tasks.map((t) => t.name).join(', ')}`);
    const before = new Set(runs.service.runs().map((r) => r.dir));
    const ended = new Promise((resolve) => {
      const d = vscode.tasks.onDidEndTaskProcess((e) => {
        if (e.execution.task.definition.type === 'cvw') {
          d.dispose();
          resolve(e.exitCode);
        }
      });
    });
    await vscode.tasks.executeTask(task);
    assert.equal(await ended, 0);
    const fresh = runs.service.runs().filter((r) => !before.has(r.dir) && r.group === 'tiny');
    assert.equal(fresh.length, 1);
    assert.equal((await waitForRun(runs, fresh[0].dir, (r) => r.state === 'finished')).info.iter, 6);
  },
  { timeout: 120_000 },
);
