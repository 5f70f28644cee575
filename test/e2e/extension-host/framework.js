// A very small test framework for code that runs inside VS Code's extension host (no mocha there).
// A suite folder has an index.js: `module.exports = { run: () => runFolder(__dirname) }`, and
// *.test.js files that call `test(name, fn)`. The harness (runExtensionHostTests in
// ../harness.mjs) loads index.js through VS Code's `extensionTestsPath`; a rejected run() makes the
// extension host exit with code 1. Each test's outcome also goes to the file $CVW_E2E_RESULTS.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const tests = [];

/** Register a test; `fn` may be async. Default timeout 30 s. */
function test(name, fn, { timeout = 30_000 } = {}) {
  tests.push({ name, fn, timeout });
}

/** Poll `fn` until it returns a truthy value; throws `message()` (or the last error) after `timeout` ms. */
async function waitFor(fn, { timeout = 15_000, interval = 100, message } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = message ? message() : lastError ? lastError.message : 'condition never held';
      throw new Error(`waitFor timed out after ${timeout} ms: ${why}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

function withTimeout(promise, ms, name) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`test "${name}" timed out after ${ms} ms`)), ms))),
  ]);
}

function writeResults(results) {
  const file = process.env.CVW_E2E_RESULTS;
  if (!file) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file + '.tmp', JSON.stringify(results, null, 2));
  fs.renameSync(file + '.tmp', file);
}

/** Load every *.test.js of `dir` (sorted) and run their tests one after the other. */
async function runFolder(dir) {
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort()) require(path.join(dir, f));
  const results = [];
  for (const t of tests) {
    const t0 = Date.now();
    try {
      await withTimeout(Promise.resolve().then(t.fn), t.timeout, t.name);
      results.push({ name: t.name, ok: true, ms: Date.now() - t0 });
      console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
    } catch (err) {
      results.push({ name: t.name, ok: false, ms: Date.now() - t0, error: (err && err.stack) || String(err) });
      console.error(`FAIL ${t.name}\n${(err && err.stack) || err}`);
    }
    writeResults(results);
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  if (failed) throw new Error(`${failed} of ${results.length} extension-host tests failed`);
}

module.exports = { test, waitFor, runFolder };
