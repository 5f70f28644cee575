// End-to-end tests (npm run test:e2e): real VS Code (code-server) in Debian's Chromium.
// One file at a time: each starts its own code-server and browser, and 2 cores are shared.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/e2e/**/*.e2e.test.mjs'],
    globalSetup: ['test/e2e/globalSetup.mjs'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
