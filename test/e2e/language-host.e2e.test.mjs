// Layer (a): the config language features, called through VS Code's provider commands inside the
// extension host (extension-host/language), on the fixture workspace `language`.
import { expect, test } from 'vitest';
import { fixture, runExtensionHostTests } from './harness.mjs';

test('extension-host suite: completion, hover, definitions, quick fixes, outline, CodeLens, custom components', async () => {
  const { exitCode, results, resultsDir } = await runExtensionHostTests({
    name: 'extension-host-language',
    suite: 'test/e2e/extension-host/language/index.js',
    workspace: fixture('language'),
  });
  const failures = results.filter((r) => !r.ok).map((r) => `${r.name}\n${r.error}`);
  expect(failures, `extension-host failures (logs in ${resultsDir})`).toEqual([]);
  expect(results.length, `tests that ran (logs in ${resultsDir})`).toBe(15);
  expect(exitCode).toBe(0);
});
