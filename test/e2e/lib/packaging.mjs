// Package the extension with `vsce package`, as a user would receive it, and bundle the `cvw` CLI
// the tests compare the editor with.
//
// Both are built from the sources into .e2e/stage/ rather than taken from dist/: the bundles are
// the same (scripts/bundles.mjs holds the options of `npm run build`), but a private folder means
// a `npm run build` running meanwhile in the same checkout cannot swap files under a test.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_DIR, REPO_ROOT } from './paths.mjs';

/** Environment variables that carry what globalSetup.mjs built once to every test file. */
export const VSIX_ENV = 'CVW_E2E_VSIX';
export const CLI_ENV = 'CVW_E2E_CLI';

const STAGE = join(E2E_DIR, 'stage');

async function esbuild() {
  return import(join(REPO_ROOT, 'node_modules', 'esbuild', 'lib', 'main.js'));
}

/**
 * The VSIX to install: $CVW_E2E_VSIX when set (one packaging per run), else bundle and package
 * now into .e2e/cv-workbench.vsix (the universal VSIX of scripts/package-vsix.mjs).
 */
export async function packageExtension({ log = (line) => process.stderr.write(line + '\n') } = {}) {
  const given = process.env[VSIX_ENV];
  if (given && existsSync(given)) return given;
  const { stageExtension, vscePackage } = await import(join(REPO_ROOT, 'scripts', 'package-vsix.mjs'));
  await stageExtension(STAGE, { log: (line) => log(`e2e: ${line}`) });
  const vsix = join(E2E_DIR, 'cv-workbench.vsix');
  log('e2e: packaging the extension (vsce package)');
  vscePackage(STAGE, vsix);
  log(`e2e: packaged ${vsix} (${Math.round(statSync(vsix).size / 1024)} KiB)`);
  return vsix;
}

/**
 * A runnable `cvw` (bin/cvw.js's entry, src/cli/main.ts, bundled): $CVW_E2E_CLI when set, else
 * bundled now. Run it as `node <path> validate --json file`.
 */
export async function bundleCli() {
  const given = process.env[CLI_ENV];
  if (given && existsSync(given)) return given;
  const { build } = await esbuild();
  // Inside .e2e/ so that packageRoot() finds the repository's package.json above it.
  const entry = join(E2E_DIR, 'cli', 'main.js');
  await build({
    entryPoints: [join(REPO_ROOT, 'src', 'cli', 'main.ts')],
    outfile: entry,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'error',
    external: ['sharp', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'fsevents', 'esbuild'],
  });
  const launcher = join(E2E_DIR, 'cli', 'cvw.js');
  writeFileSync(
    launcher,
    "'use strict';\n// Written by test/e2e/lib/packaging.mjs: bin/cvw.js, on a private bundle of src/cli/main.ts.\n" +
      "require('./main.js').main(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e) => { process.stderr.write('cvw: ' + (e && e.stack ? e.stack : e) + '\\n'); process.exitCode = 1; });\n",
  );
  return launcher;
}
