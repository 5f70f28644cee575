// Build: tsc compiles src/ (CLI, Node API) to dist/lib with declarations and source maps;
// esbuild bundles the VS Code extension (dist/extension.js) and each webview (dist/webview/*.js).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
rmSync(join(root, 'dist', 'lib'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });

const esbuild = await import('esbuild');
const builds = [];
if (existsSync(join(root, 'src', 'extension', 'extension.ts'))) {
  builds.push({
    entryPoints: [join(root, 'src', 'extension', 'extension.ts')],
    outfile: join(root, 'dist', 'extension.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    // Native and heavy runtime packages stay outside the bundle; they are loaded only when needed.
    external: ['vscode', 'sharp', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'fsevents'],
  });
}
const webviewDir = join(root, 'webview', 'src');
if (existsSync(webviewDir)) {
  for (const f of readdirSync(webviewDir)) {
    if (!/^[a-zA-Z]+\.ts$/.test(f) || f.endsWith('.d.ts')) continue;
    builds.push({
      entryPoints: [join(webviewDir, f)],
      outfile: join(root, 'dist', 'webview', f.replace(/\.ts$/, '.js')),
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      sourcemap: true,
      loader: { '.css': 'text' },
    });
  }
}
for (const b of builds) {
  if (watch) await (await esbuild.context(b)).watch();
  else await esbuild.build(b);
}
