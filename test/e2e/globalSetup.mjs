// Once per e2e run: check the tools are there, package the VSIX and bundle the CLI once for every
// test file, and at the end kill anything any session left running (a test process that crashed
// skipped its own cleanup).
import { randomUUID } from 'node:crypto';
import { checkPrerequisites } from './lib/paths.mjs';
import { bundleCli, CLI_ENV, packageExtension, VSIX_ENV } from './lib/packaging.mjs';
import { RUN_ID_ENV, RUN_TAG, killTagged } from './lib/processes.mjs';

export default async function setup() {
  checkPrerequisites();
  const run = randomUUID();
  process.env[RUN_ID_ENV] = run;
  process.env[VSIX_ENV] = await packageExtension();
  process.env[CLI_ENV] = await bundleCli();
  return () => {
    const n = killTagged(RUN_TAG, run);
    if (n) process.stderr.write(`e2e: killed ${n} process(es) left behind by the tests\n`);
  };
}
