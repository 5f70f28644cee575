// Unit tests that must not share the machine with other tests (npm run test:unit runs them after
// the rest): those that make the kernel's out-of-memory killer end processes, whose count in
// /proc/vmstat is the machine's, so that a process another test kills would be taken for its victim.
import { defineConfig } from 'vitest/config';
import base from '../vitest.config';

export default defineConfig({ test: { ...base.test, include: ['test/**/*.alone.test.ts'], exclude: ['node_modules/**'], fileParallelism: false } });
