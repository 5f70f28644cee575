/**
 * Which `cvw` to run, and with which Node. The editor runs the toolkit the workspace installed
 * (its version, its custom components' dependencies) and falls back to the one bundled with the
 * extension.
 *
 * Order: an explicit path (setting `cvWorkbench.cvwPath`) → the workspace's own package (a
 * `node_modules/cv-workbench` in the workspace folder or a folder above it, or the workspace being
 * the cv-workbench package itself) → the bundled CLI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRegularFile } from '../core/boundedRead';

export type CvwSource = 'setting' | 'workspace' | 'bundled';

export interface CvwLocation {
  /** The script to run with Node: `node <entry> train ...`. */
  entry: string;
  source: CvwSource;
  /** The toolkit's package root (its sources and maps live below it). */
  packageRoot: string;
}

/** How to start Node: its executable, and the environment it needs (Electron runs as Node with ELECTRON_RUN_AS_NODE). */
export interface NodeRuntime {
  command: string;
  env: Record<string, string>;
}

export class CvwNotFoundError extends Error {}

function isPackageRoot(dir: string): boolean {
  try {
    // Bounded, a regular file only: the folders searched are the workspace's.
    return JSON.parse(readRegularFile(path.join(dir, 'package.json'), { what: 'package.json', maxBytes: 1 << 20 }).toString('utf8')).name === 'cv-workbench';
  } catch {
    return false;
  }
}

/** The package root above `file` (the folder of cv-workbench's package.json). */
export function packageRootOf(file: string): string | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (isPackageRoot(dir)) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** A runnable bin/cvw.js of the package at `root` (built: dist/lib/cli/main.js exists). */
function builtEntry(root: string): string | undefined {
  const entry = path.join(root, 'bin', 'cvw.js');
  return fs.existsSync(entry) && fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js')) ? entry : undefined;
}

/** The cv-workbench installed for (or being developed in) `folder`, looking up the tree like Node's resolution. */
export function findWorkspaceCvw(folder: string): CvwLocation | undefined {
  if (isPackageRoot(folder)) {
    const entry = builtEntry(folder);
    if (entry) return { entry, source: 'workspace', packageRoot: folder };
  }
  for (let dir = folder; ; dir = path.dirname(dir)) {
    const root = path.join(dir, 'node_modules', 'cv-workbench');
    if (isPackageRoot(root)) {
      const entry = builtEntry(root);
      if (entry) return { entry, source: 'workspace', packageRoot: fs.realpathSync(root) };
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

export interface ResolveCvwOptions {
  /** An explicit script (setting), absolute or relative to `folder`. */
  configured?: string;
  /** The workspace folder the run belongs to. */
  folder?: string;
  /** The bundled CLI's script (shipped with the extension). */
  bundled?: string;
}

export function resolveCvw(options: ResolveCvwOptions): CvwLocation {
  if (options.configured) {
    const entry = path.resolve(options.folder ?? process.cwd(), options.configured);
    if (!fs.existsSync(entry)) throw new CvwNotFoundError(`cvWorkbench.cvwPath: ${entry} does not exist`);
    return { entry, source: 'setting', packageRoot: packageRootOf(entry) ?? path.dirname(entry) };
  }
  const installed = options.folder ? findWorkspaceCvw(options.folder) : undefined;
  if (installed) return installed;
  if (options.bundled && fs.existsSync(options.bundled)) {
    return { entry: options.bundled, source: 'bundled', packageRoot: packageRootOf(options.bundled) ?? path.dirname(options.bundled) };
  }
  throw new CvwNotFoundError(
    `no cvw to run: install the toolkit in the workspace (npm install cv-workbench), or set cvWorkbench.cvwPath${options.bundled ? ` (the bundled CLI ${options.bundled} is missing)` : ''}`,
  );
}

/**
 * The Node to run `cvw` with: `configured` (setting `cvWorkbench.nodePath`) when given, else the
 * editor's own runtime — Node itself in a remote or web extension host, Electron elsewhere, which
 * runs as plain Node with ELECTRON_RUN_AS_NODE=1.
 */
export function nodeRuntime(configured?: string): NodeRuntime {
  if (configured) return { command: configured, env: {} };
  return { command: process.execPath, env: process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {} };
}
