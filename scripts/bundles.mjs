// The esbuild bundles of the package: the VS Code extension (dist/extension.js), each webview
// (dist/webview/*.js), and the `cvw` the extension runs when the workspace has no cv-workbench of
// its own (dist/cli/). Shared by scripts/build.mjs and the end-to-end harness, which bundles into a
// staging folder of its own (test/e2e/lib/packaging.mjs).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Packages that stay outside every Node bundle (native, optional, or build-time only). */
const NODE_EXTERNALS = ['sharp', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'fsevents', 'esbuild'];

/**
 * What the bundled CLI needs beside its code: the launcher (dist/cli/cvw.js, as bin/cvw.js), the
 * wasm backend's .wasm files (tfjs loads them from the bundle's folder), and the tfjs gradient
 * bundle that src/engine/gradients.ts loads from <package>/dist/vendor (an installed extension has
 * no esbuild to make it on first use).
 */
function cliAssets(root, outDir) {
  return {
    name: 'cvw-cli-assets',
    setup(build) {
      build.onEnd((result) => {
        if (result.errors.length) return;
        const cliDir = join(outDir, 'cli');
        mkdirSync(cliDir, { recursive: true });
        writeFileSync(
          join(cliDir, 'cvw.js'),
          "#!/usr/bin/env node\n'use strict';\n// The bundled `cvw` (scripts/bundles.mjs): src/cli/main.ts in one file.\n" +
            "require('./main.js').main(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e) => { process.stderr.write('cvw: ' + (e && e.stack ? e.stack : e) + '\\n'); process.exitCode = 1; });\n",
        );
        const wasmDir = join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
        for (const f of readdirSync(wasmDir)) if (f.endsWith('.wasm')) copyFileSync(join(wasmDir, f), join(cliDir, f));
        const version = JSON.parse(readFileSync(join(root, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json'), 'utf8')).version;
        const gradients = join(outDir, 'vendor', `tfjs-core-gradients-${version}.js`);
        if (!existsSync(gradients)) {
          const out = build.esbuild.buildSync({
            entryPoints: [join(root, 'node_modules', '@tensorflow', 'tfjs-core', 'dist', 'register_all_gradients.js')],
            bundle: true,
            platform: 'node',
            format: 'cjs',
            target: 'node20',
            write: false,
            logLevel: 'error',
            legalComments: 'inline',
          });
          mkdirSync(join(outDir, 'vendor'), { recursive: true });
          writeFileSync(gradients + '.tmp', out.outputFiles[0].text);
          renameSync(gradients + '.tmp', gradients);
        }
      });
    },
  };
}

const OWN_RESOLVE = { cvwTfjsCore: true };

/**
 * tfjs' WebGPU backend (an optional dependency) inside the bundled CLI, so that the VSIX's `cvw`
 * runs the webgpu engine with nothing installed by npm. The backend registers its kernels into the
 * tfjs-core it imports: every import of `@tensorflow/tfjs-core` (the backend's, the wasm and cpu
 * backends', the toolkit's) is resolved from the package root, so the bundle holds one tfjs-core and
 * no nested copy can split it. src/engine/bundledTfjsWebgpu.ts is replaced by a module that requires
 * the backend (esbuild evaluates it on first require, when the engine starts, not at every `cvw`).
 * Without the package, or at another version than tfjs-core, the bundle has no backend and
 * `cvw env` says why, as the npm package does. `withBackend` false: the one tfjs-core only.
 */
function tfjsWebgpuInBundle(root, withBackend) {
  return {
    name: 'cvw-tfjs-webgpu',
    setup(build) {
      build.onResolve({ filter: /^@tensorflow\/tfjs-core(\/.*)?$/ }, (args) =>
        args.pluginData === OWN_RESOLVE ? undefined : build.resolve(args.path, { kind: args.kind, resolveDir: root, pluginData: OWN_RESOLVE }),
      );
      const pkgJson = join(root, 'node_modules', '@tensorflow', 'tfjs-backend-webgpu', 'package.json');
      if (!withBackend || !existsSync(pkgJson)) return;
      const version = JSON.parse(readFileSync(pkgJson, 'utf8')).version;
      const core = JSON.parse(readFileSync(join(root, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json'), 'utf8')).version;
      if (version !== core) {
        process.stderr.write(`bundles: @tensorflow/tfjs-backend-webgpu ${version} does not match @tensorflow/tfjs-core ${core}: the bundled CLI has no webgpu engine\n`);
        return;
      }
      build.onLoad({ filter: /[\\/]src[\\/]engine[\\/]bundledTfjsWebgpu\.ts$/ }, () => ({
        contents: `export const bundledTfjsWebgpu = { version: ${JSON.stringify(version)}, load: () => require('@tensorflow/tfjs-backend-webgpu') };\n`,
        loader: 'ts',
        resolveDir: root,
      }));
    },
  };
}

/** esbuild options of every bundle, writing under `outDir` (default `<root>/dist`). */
export function bundleOptions(root, outDir = join(root, 'dist')) {
  const builds = [];
  if (existsSync(join(root, 'src', 'extension', 'extension.ts'))) {
    builds.push({
      entryPoints: [join(root, 'src', 'extension', 'extension.ts')],
      outfile: join(outDir, 'extension.js'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      sourcemap: true,
      // Native and heavy runtime packages stay outside the bundle; they are loaded only when needed
      // (esbuild: src/engine/gradients.ts bundles tfjs gradients with it at build time, never in the editor).
      external: ['vscode', ...NODE_EXTERNALS],
    });
  }
  if (existsSync(join(root, 'src', 'cli', 'main.ts'))) {
    const cli = {
      outdir: join(outDir, 'cli'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      // Maps beside the code: the debugger shows the toolkit's TypeScript (Debug Training).
      sourcemap: true,
      external: NODE_EXTERNALS,
    };
    builds.push({ ...cli, entryPoints: { main: join(root, 'src', 'cli', 'main.ts') }, plugins: [tfjsWebgpuInBundle(root, true), cliAssets(root, outDir)] });
    // The data loader's workers start sampleWorker.js from the folder of the code that spawns them.
    // A build of its own: workers run no engine, so the WebGPU backend stays out of this one.
    builds.push({ ...cli, entryPoints: { sampleWorker: join(root, 'src', 'data', 'workers', 'sampleWorker.ts') }, plugins: [tfjsWebgpuInBundle(root, false)] });
  }
  const webviewDir = join(root, 'webview', 'src');
  if (existsSync(webviewDir)) {
    for (const f of readdirSync(webviewDir)) {
      if (!/^[a-zA-Z]+\.ts$/.test(f) || f.endsWith('.d.ts')) continue;
      builds.push({
        entryPoints: [join(webviewDir, f)],
        outfile: join(outDir, 'webview', f.replace(/\.ts$/, '.js')),
        bundle: true,
        platform: 'browser',
        format: 'iife',
        target: 'es2022',
        sourcemap: true,
        loader: { '.css': 'text' },
      });
    }
  }
  return builds;
}
