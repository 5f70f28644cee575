// The esbuild bundles of the package: the VS Code extension (dist/extension.js) and each webview
// (dist/webview/*.js). Shared by scripts/build.mjs and the end-to-end harness, which bundles into a
// staging folder of its own (test/e2e/lib/packaging.mjs).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

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
      external: ['vscode', 'sharp', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'fsevents', 'esbuild'],
    });
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
