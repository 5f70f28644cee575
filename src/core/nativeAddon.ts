/**
 * Node-API addons built from source on the user's machine (packages/mpi over Open MPI,
 * packages/onednn over oneDNN): node-gyp against Node's own headers, once, under a lock folder so
 * that processes starting together (MPI ranks) build it once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { UserError } from './problems';

/** node-gyp: $CVW_NODE_GYP, the one on PATH, or the copy npm ships with. */
export function findNodeGyp(): string[] | undefined {
  if (process.env.CVW_NODE_GYP) return [process.env.CVW_NODE_GYP];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'node-gyp'))) return [path.join(dir, 'node-gyp')];
  }
  const npmCopy = [
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
  ].find((f) => fs.existsSync(f));
  return npmCopy ? [process.execPath, npmCopy] : undefined;
}

/** Node's own headers: a system install has them under <prefix>/include/node, so node-gyp needs no download. */
function nodeDir(): string | undefined {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

const BUILD_WAIT_MS = 180_000;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export interface AddonBuild {
  /** The package folder (binding.gyp). */
  dir: string;
  /** The built addon, build/Release/<target>.node. */
  file: string;
  /** What it is, for messages: "the MPI binding". */
  label: string;
  /** What the build uses besides node-gyp, for the log line: "pkg-config ompi-c". */
  uses: string;
}

/** Build the addon when it is missing; returns its file. The caller checks the system library first. */
export function buildAddon(build: AddonBuild, log: (m: string) => void = () => undefined): string {
  const { dir, file, label } = build;
  if (fs.existsSync(file)) return file;
  const gyp = findNodeGyp();
  if (!gyp) throw new UserError(`building ${label} needs node-gyp (it ships with npm; or \`npm install -g node-gyp\`, or set CVW_NODE_GYP)`);
  const lock = path.join(dir, '.building');
  const deadline = Date.now() + BUILD_WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (fs.existsSync(file)) return file;
      if (Date.now() > deadline) throw new UserError(`${label} is being built by another process for over ${BUILD_WAIT_MS / 1000} s (${lock}); remove that folder if no build runs`);
      sleep(200);
    }
  }
  try {
    if (fs.existsSync(file)) return file;
    log(`building ${label} in ${dir} (node-gyp, ${build.uses})`);
    const headers = nodeDir();
    const args = [...gyp.slice(1), 'rebuild', ...(headers ? [`--nodedir=${headers}`] : [])];
    try {
      execFileSync(gyp[0], args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });
    } catch (e) {
      const err = e as { stderr?: Buffer; stdout?: Buffer; message: string };
      const out = `${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`.trim().split('\n').slice(-15).join('\n');
      throw new UserError(`building ${label} failed (${gyp.join(' ')} ${args.join(' ')} in ${dir}):\n${out || err.message}`);
    }
    return file;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
