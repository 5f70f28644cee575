// Where things are: the repository, the harness's installed tools, the screenshots.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Installed by scripts/setup-e2e.sh; never part of package.json. */
export const E2E_DIR = join(REPO_ROOT, '.e2e');
export const RESULTS_DIR = join(REPO_ROOT, 'test-results');
export const CODE_SERVER_BIN = join(E2E_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = process.env.CVW_E2E_CHROMIUM ?? '/usr/bin/chromium';

const SETUP_HINT = 'run `bash scripts/setup-e2e.sh` (or `bash scripts/setup-test-env.sh`, which also installs Chromium)';

/** Throws a message saying what is missing and how to install it. */
export function checkPrerequisites() {
  if (!existsSync(CODE_SERVER_BIN)) throw new Error(`e2e: code-server is not installed in ${E2E_DIR}: ${SETUP_HINT}`);
  if (!existsSync(join(E2E_DIR, 'node_modules', 'playwright-core'))) throw new Error(`e2e: playwright-core is not installed in ${E2E_DIR}: ${SETUP_HINT}`);
  if (!existsSync(CHROMIUM)) throw new Error(`e2e: no Chromium at ${CHROMIUM}: apt-get install chromium, or set CVW_E2E_CHROMIUM`);
}

/** playwright-core from .e2e/ (it is deliberately not a dependency of the project). */
export function playwright() {
  checkPrerequisites();
  return createRequire(join(E2E_DIR, 'package.json'))('playwright-core');
}
