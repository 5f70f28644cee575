// Layer (a) for the runs feature (extension-host/runs): Train, Stop, Resume, crash diagnostics,
// runs started in a terminal, cvw tasks and Debug Training, with real `cvw train` children of the
// installed extension (its bundled CLI) on tiny Fashion-MNIST configs.
import { expect, test } from 'vitest';
import { runExtensionHostTests } from './harness.mjs';
import { runsWorkspace } from './runsWorkspace.mjs';

test('extension-host suite: runs', async () => {
  const { exitCode, results, resultsDir } = await runExtensionHostTests({
    name: 'extension-host-runs',
    suite: 'test/e2e/extension-host/runs/index.js',
    workspace: runsWorkspace(),
    settings: { 'cvWorkbench.runs.askForArguments': false },
    timeoutMs: 900_000,
  });
  const failures = results.filter((r) => !r.ok).map((r) => `${r.name}\n${r.error}`);
  expect(failures, `extension-host failures (logs in ${resultsDir})`).toEqual([]);
  expect(results.length, `tests that ran (logs in ${resultsDir})`).toBe(11);
  expect(exitCode).toBe(0);
}, 960_000);
