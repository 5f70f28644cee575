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
import { buildAddon } from '../core/nativeAddon';

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

export interface MpiAvailability {
  /** The addon is built and loads. */
  available: boolean;
  /** The system's MPI (mpirun and the development files) is there, so the addon can be built. */
  mpiInstalled: boolean;
  mpirun?: string;
  note: string;
}

/** `cmd` on PATH, else undefined. */
export function which(cmd: string): string | undefined {
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

/** Build the addon when it is missing (ranks starting together build it once). */
export function buildBinding(log: (m: string) => void = () => undefined): string {
  const file = bindingFile();
  if (fs.existsSync(file)) return file;
  if (!hasOmpiDev()) throw new UserError(`distributed training needs MPI and its development files (pkg-config ompi-c found nothing): ${MPI_INSTALL_HINT}`);
  return buildAddon({ dir: bindingDir(), file, label: 'the MPI binding', uses: 'pkg-config ompi-c' }, log);
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
