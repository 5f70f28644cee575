// Build: tsc compiles src/ (CLI, Node API) to dist/lib with declarations and source maps;
// esbuild bundles the VS Code extension (dist/extension.js) and each webview (dist/webview/*.js).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleOptions } from './bundles.mjs';
import { writeSchema } from './write-schema.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
rmSync(join(root, 'dist', 'lib'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
writeSchema(root);
// TensorFlow.js' gradients exist only as ES modules; the engine loads them from this CommonJS bundle.
const { createRequire } = await import('node:module');
createRequire(import.meta.url)(join(root, 'dist', 'lib', 'engine', 'gradients.js')).buildGradientBundle();

const esbuild = await import('esbuild');
const builds = bundleOptions(root);
for (const b of builds) {
  if (watch) await (await esbuild.context(b)).watch();
  else await esbuild.build(b);
}
