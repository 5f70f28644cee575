/**
 * The MPI binding (packages/mpi, a Node-API addon over the system's Open MPI): where it is, whether
 * it is built, and building it on demand with node-gyp against Node's headers and `pkg-config
 * ompi-c`. Single-process training never loads it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { packageRoot } from '../core/packageInfo';
import { UserError } from '../core/problems';

export interface MpiBinding {
  init(): { rank: number; size: number; threadLevel: number };
  processorName(): string;
  bcast(data: ArrayBufferView, root: number): void;
  allreduceSum(data: Float32Array | Float64Array): Promise<void>;
  allreduceSumSync(data: Float32Array | Float64Array): void;
  abiVersion?: number;
  barrier(): Promise<void>;
  /** Seconds a collective waits for every rank; past them it fails with code ETIMEDOUT and `missing` (the ranks not heard from). */
  setTimeout(seconds: number): void;
  inFlight(): boolean;
  abort(code: number): void;
  finalize(): void;
}

export const MPI_INSTALL_HINT = 'apt-get install openmpi-bin libopenmpi-dev (Debian/Ubuntu), or load your cluster\'s Open MPI module';

export function bindingDir(): string {
  return path.join(packageRoot(), 'packages', 'mpi');
}

export function bindingFile(): string {
  return path.join(bindingDir(), 'build', 'Release', 'cvw_mpi.node');
}

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

export interface MpiAvailability {
  /** The addon is built and loads. */
  available: boolean;
  /** The system's MPI (mpirun and the development files) is there, so the addon can be built. */
  mpiInstalled: boolean;
  mpirun?: string;
  note: string;
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const f = path.join(dir, cmd);
    if (dir && fs.existsSync(f)) return f;
  }
  return undefined;
}

function hasOmpiDev(): boolean {
  try {
    execFileSync('pkg-config', ['--exists', 'ompi-c'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What `cvw env` reports about distributed training. */
export function mpiAvailability(file = bindingFile()): MpiAvailability {
  const mpirun = which('mpirun');
  const dev = hasOmpiDev();
  const mpiInstalled = !!mpirun && dev;
  if (fs.existsSync(file)) {
    try {
      require(file);
      return { available: true, mpiInstalled, mpirun, note: `MPI binding built (${file}); run on N processes with \`cvw train --nproc N\` or under mpirun/srun` };
    } catch (e) {
      return { available: false, mpiInstalled, mpirun, note: `MPI binding ${file} does not load: ${(e as Error).message}; rebuild it with \`cvw env --build-mpi\`` };
    }
  }
  if (!mpiInstalled) return { available: false, mpiInstalled, mpirun, note: `no MPI found (${!mpirun ? 'mpirun' : 'pkg-config ompi-c'} missing): ${MPI_INSTALL_HINT}; single-process training does not need it` };
  return { available: false, mpiInstalled, mpirun, note: 'MPI found, binding not built yet: it is built on the first distributed run, or now with `cvw env --build-mpi`' };
}

const BUILD_WAIT_MS = 180_000;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Build the addon when it is missing. Ranks starting together build it once: the first takes a
 * lock folder, the others wait for the result.
 */
export function buildBinding(log: (m: string) => void = () => undefined): string {
  const file = bindingFile();
  if (fs.existsSync(file)) return file;
  if (!hasOmpiDev()) throw new UserError(`distributed training needs MPI and its development files (pkg-config ompi-c found nothing): ${MPI_INSTALL_HINT}`);
  const gyp = findNodeGyp();
  if (!gyp) throw new UserError('building the MPI binding needs node-gyp (it ships with npm; or `npm install -g node-gyp`, or set CVW_NODE_GYP)');
  const lock = path.join(bindingDir(), '.building');
  const deadline = Date.now() + BUILD_WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (fs.existsSync(file)) return file;
      if (Date.now() > deadline) throw new UserError(`the MPI binding is being built by another process for over ${BUILD_WAIT_MS / 1000} s (${lock}); remove that folder if no build runs`);
      sleep(200);
    }
  }
  try {
    if (fs.existsSync(file)) return file;
    log(`building the MPI binding in ${bindingDir()} (node-gyp, pkg-config ompi-c)`);
    const dir = nodeDir();
    const args = [...gyp.slice(1), 'rebuild', ...(dir ? [`--nodedir=${dir}`] : [])];
    try {
      execFileSync(gyp[0], args, { cwd: bindingDir(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });
    } catch (e) {
      const err = e as { stderr?: Buffer; stdout?: Buffer; message: string };
      const out = `${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`.trim().split('\n').slice(-15).join('\n');
      throw new UserError(`building the MPI binding failed (${gyp.join(' ')} ${args.join(' ')} in ${bindingDir()}):\n${out || err.message}`);
    }
    return file;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** The functions this code calls: a binding built by an older version is rebuilt. */
const ABI_VERSION = 3;

/** Build (when needed) and load the binding. */
export function loadBinding(log?: (m: string) => void): MpiBinding {
  const file = buildBinding(log);
  const binding = require(file) as MpiBinding;
  if (binding.abiVersion === ABI_VERSION) return binding;
  // An addon cannot be unloaded: build the new one under another name and load that.
  log?.(`the MPI binding at ${file} is from an older version: rebuilding it`);
  fs.rmSync(path.join(bindingDir(), 'build'), { recursive: true, force: true });
  const rebuilt = buildBinding(log);
  const fresh = path.join(path.dirname(rebuilt), `cvw_mpi.v${ABI_VERSION}.node`);
  fs.copyFileSync(rebuilt, fresh);
  return require(fresh) as MpiBinding;
}

/** The environment variables that let Open MPI's mpirun run as root (containers, CI). */
export function mpirunRootEnv(): Record<string, string> {
  return os.userInfo().uid === 0 ? { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } : {};
}
