/**
 * A private `cvw` for tests that run real trainings: the bundled CLI of scripts/bundles.mjs (what
 * the extension falls back to), built into its own folder under the repository's tmp/ so that a
 * `npm run build` running meanwhile in the same checkout cannot swap files under the test. Native
 * packages (sharp) resolve from the repository's node_modules above it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface TestCli {
  /** `node <entry> train ...` */
  entry: string;
  /** The package root of the bundle (its package.json, dist/cli, dist/vendor). */
  root: string;
  cleanup(): void;
}

export async function bundleTestCli(): Promise<TestCli> {
  fs.mkdirSync(path.join(REPO_ROOT, 'tmp'), { recursive: true });
  const root = fs.mkdtempSync(path.join(REPO_ROOT, 'tmp', 'runs-cli-'));
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(root, 'package.json'));
  const { bundleOptions } = (await import(pathToFileURL(path.join(REPO_ROOT, 'scripts', 'bundles.mjs')).href)) as {
    bundleOptions(root: string, outDir: string): Array<{ outdir?: string; outfile?: string }>;
  };
  const esbuild = await import('esbuild');
  const cli = bundleOptions(REPO_ROOT, path.join(root, 'dist')).filter((o) => o.outdir?.endsWith(`${path.sep}cli`));
  if (!cli.length) throw new Error('scripts/bundles.mjs has no CLI bundle');
  // The CLI and its data workers' bundle.
  for (const options of cli) await esbuild.build({ ...(options as object), logLevel: 'error' });
  return { entry: path.join(root, 'dist', 'cli', 'cvw.js'), root, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}
