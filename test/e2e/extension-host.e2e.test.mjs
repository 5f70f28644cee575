// Layer (a): tests that call the VS Code API from inside the extension host (extension-host/shell).
import { expect, test } from 'vitest';
import { fixture, runExtensionHostTests } from './harness.mjs';

test('extension-host suite: activation, commands, live diagnostics', async () => {
  const { exitCode, results, resultsDir } = await runExtensionHostTests({
    name: 'extension-host-shell',
    suite: 'test/e2e/extension-host/shell/index.js',
    workspace: fixture('lab'),
    // The lab keeps its configs under lab/, so the default configs/** activation does not fire.
    settings: { 'cvWorkbench.configGlob': 'lab/**' },
  });
  const failures = results.filter((r) => !r.ok).map((r) => `${r.name}\n${r.error}`);
  expect(failures, `extension-host failures (logs in ${resultsDir})`).toEqual([]);
  expect(results.length, `tests that ran (logs in ${resultsDir})`).toBe(13);
  expect(exitCode).toBe(0);
});
