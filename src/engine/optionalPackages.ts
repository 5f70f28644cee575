/**
 * The optional accelerators: `@tensorflow/tfjs-node` and `@tensorflow/tfjs-node-gpu` download
 * libtensorflow at install time, so they are never dependencies; a user adds one with npm and the
 * engine finds it. Nothing here loads them: `resolve` only locates their package.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';

export const TFJS_NODE = '@tensorflow/tfjs-node';
export const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';

export interface ResolvedPackage {
  name: string;
  version: string;
  /** The directory holding its package.json. */
  dir: string;
}

/** Where to look: beside this package, then from the working directory (a user's project). */
function searchPaths(): string[] {
  return [__dirname, process.cwd()];
}

/** Locate an installed package without loading it. */
export function resolvePackage(name: string): ResolvedPackage | undefined {
  try {
    const pkgJson = require.resolve(`${name}/package.json`, { paths: searchPaths() });
    const { version } = JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string };
    return { name, version, dir: path.dirname(pkgJson) };
  } catch {
    return undefined;
  }
}

/** The install command that gives a working accelerator for this tfjs-core. */
export function installHint(name: string): string {
  const gpu = name === TFJS_NODE_GPU;
  return (
    `npm install --save-exact ${name}@${tf.version_core}` +
    (gpu ? ' (Linux x64 or Windows, an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1 installed, as TensorFlow 2.9 needs)' : '') +
    `; its install script downloads libtensorflow, so it needs network access to storage.googleapis.com`
  );
}

/**
 * Is an NVIDIA GPU visible to this process? Linux: the driver lists GPUs under /proc; elsewhere
 * `nvidia-smi -L` answers (bounded by a short timeout).
 */
export function nvidiaGpuVisible(): boolean {
  if (process.platform === 'linux') {
    try {
      return fs.readdirSync('/proc/driver/nvidia/gpus').length > 0;
    } catch {
      return false;
    }
  }
  const r = spawnSync('nvidia-smi', ['-L'], { timeout: 3000, encoding: 'utf8' });
  return r.status === 0 && /GPU \d+/.test(r.stdout ?? '');
}
