// Helpers of the runs suite: the extension's runs API, and waiting for a run to reach a state.
'use strict';
const path = require('node:path');
const vscode = require('vscode');
const { waitFor } = require('../framework');

const EXTENSION_ID = 'cv-workbench.cv-workbench';
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

function workspacePath(rel) {
  return path.join(vscode.workspace.workspaceFolders[0].uri.fsPath, rel);
}

/** The RunsApi of the activated extension (src/extension/runs/index.ts), once its runs are read. */
async function runsApi() {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not installed`);
  const api = await ext.activate();
  await api.runs.service.ready;
  return api.runs;
}

/** Wait until the run in `dir` satisfies `predicate(record)`; returns the record. */
async function waitForRun(runs, dir, predicate, timeout = 120_000) {
  return waitFor(
    () => {
      const r = runs.service.get(dir);
      return r && predicate(r) ? r : undefined;
    },
    { timeout, interval: 100, message: () => `run ${dir} is ${JSON.stringify(runs.service.get(dir)?.state)} (iter ${runs.service.get(dir)?.info.iter})` },
  );
}

/** Record the states runs go through (from the watcher's changes); `of(dir)` lists one run's, in order. */
function recordStates(runs) {
  const seen = [];
  const d = runs.service.onDidChangeRuns((c) => seen.push([c.run.dir, c.run.state]));
  return {
    of: (dir) => seen.filter(([d]) => d === dir).map(([, s]) => s).filter((s, i, all) => i === 0 || all[i - 1] !== s),
    dispose: () => d.dispose(),
  };
}

module.exports = { EXTENSION_ID, REPO_ROOT, workspacePath, runsApi, waitForRun, recordStates };
