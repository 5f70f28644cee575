// Evaluate and Export on a finished run, from the commands the Runs view's menu calls.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { test } = require('../framework');
const { runsApi } = require('./helpers');

/** A run this session trained to the end (2-train.test.js). */
async function finishedRun() {
  const runs = await runsApi();
  const run = runs.service.runs().find((r) => r.group === 'tiny' && r.state === 'finished' && fs.existsSync(path.join(r.dir, 'checkpoints', 'latest.safetensors')));
  assert.ok(run, 'a finished tiny run with checkpoints');
  return run.dir;
}

test(
  'Evaluate runs cvw eval on the run and prints its metrics',
  async () => {
    const dir = await finishedRun();
    const proc = await vscode.commands.executeCommand('cvWorkbench.evaluate', dir);
    assert.equal((await proc.exited).code, 0, proc.tail(20));
    assert.match(proc.tail(5), /val\/accuracy_top1\s+0\.\d+/);
  },
  { timeout: 90_000 },
);

test(
  'Export writes a TF.js graph model into the run and verifies it',
  async () => {
    const dir = await finishedRun();
    const proc = await vscode.commands.executeCommand('cvWorkbench.export', dir, 'tfjs');
    assert.equal((await proc.exited).code, 0, proc.tail(20));
    assert.ok(fs.existsSync(path.join(dir, 'export', 'tfjs', 'model.json')));
    assert.match(proc.tail(5), /verified on \d+ random images/);
  },
  { timeout: 90_000 },
);
