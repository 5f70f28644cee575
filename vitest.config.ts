import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    // tfjs keeps one engine per process; forks isolate test files from each other's backends.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
