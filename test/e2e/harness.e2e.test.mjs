/* global fetch */
// The harness itself: a code-server that does not come up fails with a clear message and its log;
// stopping leaves no process behind, not even one that left the process group.
import { expect, test } from 'vitest';
import { startCodeServer } from './lib/codeServer.mjs';
import { SESSION_TAG, spawnGroup, stopGroup, taggedPids } from './lib/processes.mjs';

test('a code-server that does not come up fails with the reason and its log', async () => {
  // Node refuses to start when a --require'd module is missing: code-server dies before listening.
  const failing = startCodeServer({ env: { NODE_OPTIONS: '--require /nonexistent/cvw-e2e-preload.js' } });
  await expect(failing).rejects.toThrow(/code-server did not come up: it exited \(code 1[^]*--- code-server log ---[^]*cvw-e2e-preload\.js/);
});

test('stopping a session kills code-server and everything it started', async () => {
  const server = await startCodeServer();
  expect(taggedPids(SESSION_TAG, server.tag).length).toBeGreaterThan(0);
  const res = await fetch(new URL('healthz', server.url));
  expect(res.ok).toBe(true);
  await server.stop();
  expect(taggedPids(SESSION_TAG, server.tag)).toEqual([]);
});

test('a descendant that escaped into its own session is killed too', async () => {
  const tag = `harness-test-${process.pid}-${Date.now()}`;
  const { child, exited } = spawnGroup('bash', ['-c', 'setsid sleep 300 & sleep 300'], { env: { ...process.env, [SESSION_TAG]: tag }, log: () => undefined });
  // Both sleeps (one in a session of its own) carry the tag.
  await expect.poll(() => taggedPids(SESSION_TAG, tag).length, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
  await stopGroup(child, exited, tag, 1000);
  expect(taggedPids(SESSION_TAG, tag)).toEqual([]);
});
