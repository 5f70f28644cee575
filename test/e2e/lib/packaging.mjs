// Package the extension with `vsce package`, as a user would receive it, and bundle the `cvw` CLI
// the tests compare the editor with.
//
// Both are built from the sources into .e2e/stage/ rather than taken from dist/: the bundles are
// the same (scripts/bundles.mjs holds the options of `npm run build`), but a private folder means
// a `npm run build` running meanwhile in the same checkout cannot swap files under a test.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_DIR, REPO_ROOT } from './paths.mjs';

/** Environment variables that carry what globalSetup.mjs built once to every test file. */
export const VSIX_ENV = 'CVW_E2E_VSIX';
export const CLI_ENV = 'CVW_E2E_CLI';

const STAGE = join(E2E_DIR, 'stage');
/** What the VSIX is made from; .vscodeignore then decides what goes in. */
const MANIFEST_FILES = ['package.json', 'README.md', 'LICENSE', 'LICENSE.md', 'CHANGELOG.md', '.vscodeignore', 'media', 'templates'];

async function esbuild() {
  return import(join(REPO_ROOT, 'node_modules', 'esbuild', 'lib', 'main.js'));
}

/**
 * The VSIX to install: $CVW_E2E_VSIX when set (one packaging per run), else bundle and package
 * now into .e2e/cv-workbench.vsix.
 */
export async function packageExtension({ log = (line) => process.stderr.write(line + '\n') } = {}) {
  const given = process.env[VSIX_ENV];
  if (given && existsSync(given)) return given;
  const { bundleOptions } = await import(join(REPO_ROOT, 'scripts', 'bundles.mjs'));
  rmSync(STAGE, { recursive: true, force: true });
  mkdirSync(STAGE, { recursive: true });
  for (const f of MANIFEST_FILES) if (existsSync(join(REPO_ROOT, f))) cpSync(join(REPO_ROOT, f), join(STAGE, f), { recursive: true });
  const { build } = await esbuild();
  log('e2e: bundling the extension (scripts/bundles.mjs)');
  for (const options of bundleOptions(REPO_ROOT, join(STAGE, 'dist'))) await build({ ...options, logLevel: 'error' });
  if (!existsSync(join(STAGE, 'dist', 'extension.js'))) throw new Error('e2e: the extension bundle was not produced (is src/extension/extension.ts there?)');
  const vsix = join(E2E_DIR, 'cv-workbench.vsix');
  log('e2e: packaging the extension (vsce package)');
  // --no-dependencies: the bundle carries what the extension needs (see .vscodeignore).
  execFileSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--out', vsix],
    { cwd: STAGE, stdio: ['ignore', 'ignore', 'inherit'] },
  );
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
