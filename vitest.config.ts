import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // *.alone.test.ts run after the rest, by themselves (test/alone.config.mts says why).
    exclude: ['test/e2e/**', 'node_modules/**', 'test/**/*.alone.test.ts'],
    // tfjs keeps one engine per process; forks isolate test files from each other's backends.
    pool: 'forks',
    // The `cvw` processes tests start run in one process (the relaunch under glibc's malloc
    // tunables, src/cli/relaunch.ts, has its own test: test/train/relaunch.test.ts).
    env: { CVW_NO_RELAUNCH: '1' },
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
