// Train, stop, resume, crash: real `cvw train` children started through the commands.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { test, waitFor } = require('../framework');
const { runsApi, waitForRun, recordStates, workspacePath } = require('./helpers');

test(
  'Train runs cvw train in a child process: the run shows running, then finished with its final metrics',
  async () => {
    const runs = await runsApi();
    const recorder = recordStates(runs);
    try {
      const dir = await vscode.commands.executeCommand('cvWorkbench.train', vscode.Uri.file(workspacePath('configs/tiny.yaml')), { args: [] });
      assert.equal(path.dirname(dir), workspacePath('work_dirs/tiny'));
      const running = await waitForRun(runs, dir, (r) => r.state === 'running');
      assert.notEqual(running.info.pid, process.pid, 'training runs outside the extension host');
      assert.equal(runs.status.active, dir, 'the status bar follows the new run');
      const finished = await waitForRun(runs, dir, (r) => r.state === 'finished');
      assert.equal(finished.info.iter, 6);
      assert.equal(typeof finished.info.metrics['val/accuracy_top1'], 'number');
      assert.deepEqual(recorder.of(dir), ['running', 'finished']);
      const group = runs.tree.getChildren().find((g) => g.group === 'tiny');
      const item = runs.tree.getChildren(group).map((n) => runs.tree.getTreeItem(n)).find((i) => i.label === path.basename(dir));
      assert.match(item.description, /^finished · .* · loss [\d.]+ · val\/accuracy_top1 [\d.]+$/);
      assert.ok(fs.readFileSync(path.join(dir, 'output.log'), 'utf8').includes('finished: val/accuracy_top1'));
      assert.ok(vscode.window.terminals.some((t) => t.name === `cvw: tiny/${path.basename(dir)}`), 'its output is in a terminal');
    } finally {
      recorder.dispose();
    }
  },
  { timeout: 150_000 },
);

test(
  'Stop sends SIGINT: a last checkpoint, status stopped; Resume continues it to the end',
  async () => {
    const runs = await runsApi();
    const dir = await vscode.commands.executeCommand('cvWorkbench.train', vscode.Uri.file(workspacePath('configs/long.yaml')), { args: [] });
    await waitForRun(runs, dir, (r) => r.state === 'running' && r.info.iter >= 2);
    await vscode.commands.executeCommand('cvWorkbench.stopRun', dir);
    const stopped = await waitForRun(runs, dir, (r) => r.state === 'stopped');
    assert.equal(stopped.resumable, true);
    assert.ok(fs.existsSync(path.join(dir, 'checkpoints', 'latest.safetensors')));
    const item = runs.tree.getTreeItem(runs.tree.runNode(dir));
    assert.equal(item.contextValue, 'cvwRun.stopped.resumable');

    const resumed = await vscode.commands.executeCommand('cvWorkbench.resumeRun', dir, { args: ['--max-iters', String(stopped.info.iter + 2)] });
    assert.equal(resumed, dir);
    const done = await waitForRun(runs, dir, (r) => r.state === 'finished');
    assert.equal(done.info.iter, stopped.info.iter + 2);
    const iters = fs
      .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((m) => m.split === 'train')
      .map((m) => m.iter);
    assert.deepEqual(iters, Array.from({ length: done.info.iter }, (_, i) => i + 1), 'every iteration once');
  },
  { timeout: 150_000 },
);

test(
  'a crash in a custom module becomes a diagnostic at the line that threw',
  async () => {
    const runs = await runsApi();
    const hook = workspacePath('hooks/boom_hook.ts');
    const dir = await vscode.commands.executeCommand('cvWorkbench.train', vscode.Uri.file(workspacePath('configs/boom.yaml')), { args: [] });
    const failed = await waitForRun(runs, dir, (r) => r.state === 'failed');
    assert.equal(failed.info.error.message, 'boom at iteration 2');
    const diags = await waitFor(() => {
      const ds = vscode.languages.getDiagnostics(vscode.Uri.file(hook)).filter((d) => d.source === 'cvw train');
      return ds.length ? ds : undefined;
    });
    assert.equal(diags.length, 1);
    assert.equal(diags[0].range.start.line, 8); // line 9, 1-based: the throw
    assert.equal(diags[0].message, 'Training failed: boom at iteration 2');
    assert.equal(diags[0].severity, vscode.DiagnosticSeverity.Error);
    // Deleting the run (confirmed) removes it and its diagnostics.
    await vscode.commands.executeCommand('cvWorkbench.deleteRun', dir, undefined, true);
    assert.equal(fs.existsSync(dir), false);
    assert.deepEqual(vscode.languages.getDiagnostics(vscode.Uri.file(hook)).filter((d) => d.source === 'cvw train'), []);
  },
  { timeout: 120_000 },
);
