// "Submit to Slurm…": the CodeLens beside Train, and the command (with its choices given, as a task
// gives them): the run is pending in the Runs view at once, then finished on 2 ranks, followed
// through the run directory like any other run.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { test } = require('../framework');
const { runsApi, waitForRun, workspacePath, recordStates } = require('../runs/helpers');

test(
  'the CodeLens of a config offers Submit to Slurm… beside Train',
  async () => {
    const uri = vscode.Uri.file(workspacePath('configs/tiny.yaml'));
    await vscode.workspace.openTextDocument(uri);
    const lenses = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri);
    const titles = lenses.map((l) => l.command && l.command.title);
    assert.ok(titles.some((t) => /Train/.test(t)), titles.join(', '));
    assert.ok(titles.includes('$(server-process) Submit to Slurm…'), titles.join(', '));
  },
  { timeout: 30_000 },
);

test(
  'Submit to Slurm: pending in the Runs view at once, then finished on 2 ranks',
  async () => {
    const runs = await runsApi();
    const states = recordStates(runs);
    try {
      const uri = vscode.Uri.file(workspacePath('configs/tiny.yaml'));
      const result = await vscode.commands.executeCommand('cvWorkbench.submitToSlurm', uri, { nodes: 1, ntasksPerNode: 2, args: ['--max-iters', '3'] });
      assert.ok(result && result.jobId, `submitted: ${JSON.stringify(result)}`);
      const first = runs.service.get(result.runDir);
      assert.ok(first, 'the run is in the Runs view at once');
      assert.ok(['pending', 'running'].includes(first.state), first.state);
      assert.equal(first.info.slurm_job_id, result.jobId);
      const done = await waitForRun(runs, result.runDir, (r) => r.state === 'finished' || r.state === 'failed', 240_000);
      const slurmOut = path.join(result.runDir, `slurm-${result.jobId}.out`);
      const why = () => `${JSON.stringify(done.info.error ?? done.slurm)}\n${fs.existsSync(slurmOut) ? fs.readFileSync(slurmOut, 'utf8').slice(-3000) : 'no Slurm output'}`;
      assert.equal(done.state, 'finished', why());
      assert.equal(done.info.world_size, 2);
      assert.equal(done.info.iter, 3);
      assert.deepEqual(states.of(result.runDir).slice(0, 1), ['pending']);
    } finally {
      states.dispose();
    }
  },
  { timeout: 300_000 },
);
