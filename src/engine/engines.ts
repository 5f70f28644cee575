/**
 * The engines a run can train on, fastest first, and how to start each.
 *
 *   tfjs-node-gpu  libtensorflow with CUDA (optional package, NVIDIA GPU)
 *   webgpu         tfjs' WebGPU backend on Dawn (optional npm packages; any GPU with a Vulkan,
 *                  Metal or D3D12 driver; see webgpu.ts)
 *   tfjs-node      libtensorflow on the CPU (optional package)
 *   wasm-ort       the wasm backend, with its heavy kernels run by onnxruntime-node's native
 *                  CPU kernels (MLAS) through the synchronous binding — npm only
 *   wasm           the wasm backend (XNNPACK, one thread in Node) with the composed training kernels
 *   cpu            the plain JavaScript backend: slow, but everywhere
 *
 * An engine is a tfjs backend plus the kernels installed on it; `activate` makes it current.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/problems';
import { probeWebgpu, type AdapterSummary, type ProbeScope, type WebgpuProbe } from './webgpu';
import { installHint, nvidiaGpuVisible, resolvePackage, TFJS_NODE, TFJS_NODE_GPU, type ResolvedPackage } from './optionalPackages';

export const ENGINE_NAMES = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm-ort', 'wasm', 'cpu'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export interface Availability {
  engine: EngineName;
  available: boolean;
  /** Why not, or what it is ("1.30.0, 2 threads"). */
  note: string;
  /** webgpu: the adapter Dawn found (a software one is available to an explicit engine.backend: webgpu, never to auto). */
  adapter?: AdapterSummary;
}

/** What the engines need from the outside world; tests replace it. */
export interface EngineEnvironment {
  resolvePackage(name: string): ResolvedPackage | undefined;
  gpuVisible(): boolean;
  /** Load an optional package (it registers its tfjs backend as a side effect). */
  load(pkg: ResolvedPackage): void;
  /** The WebGPU packages and adapter (default: probeWebgpu, which asks Dawn). */
  probeWebgpu?: (scope: ProbeScope) => Promise<WebgpuProbe>;
}

export const defaultEnvironment: EngineEnvironment = {
  resolvePackage,
  gpuVisible: nvidiaGpuVisible,
  load(pkg) {
    require(pkg.dir);
  },
  probeWebgpu: (scope) => probeWebgpu(resolvePackage, scope),
};

export function tfjsNodeAvailability(env: EngineEnvironment, name: 'tfjs-node' | 'tfjs-node-gpu'): Availability {
  const pkgName = name === 'tfjs-node' ? TFJS_NODE : TFJS_NODE_GPU;
  const pkg = env.resolvePackage(pkgName);
  if (!pkg) return { engine: name, available: false, note: `${pkgName} not installed` };
  if (pkg.version !== tf.version_core) return { engine: name, available: false, note: `${pkgName} ${pkg.version} does not match @tensorflow/tfjs-core ${tf.version_core}` };
  if (name === 'tfjs-node-gpu' && !env.gpuVisible()) return { engine: name, available: false, note: `${pkgName} ${pkg.version} installed, but no NVIDIA GPU is visible` };
  return { engine: name, available: true, note: `${pkgName} ${pkg.version}` };
}

/** Load tfjs-node(-gpu) and switch to its `tensorflow` backend; a clear error if that fails. */
export async function activateTfjsNode(env: EngineEnvironment, name: 'tfjs-node' | 'tfjs-node-gpu', threads: number): Promise<void> {
  const pkgName = name === 'tfjs-node' ? TFJS_NODE : TFJS_NODE_GPU;
  const pkg = env.resolvePackage(pkgName);
  if (!pkg) throw new UserError(`engine ${name} is not installed; ${installHint(pkgName)}`);
  if (pkg.version !== tf.version_core) throw new UserError(`${pkgName} ${pkg.version} does not match @tensorflow/tfjs-core ${tf.version_core}; ${installHint(pkgName)}`);
  const other = name === 'tfjs-node' ? 'tfjs-node-gpu' : 'tfjs-node';
  if (tf.findBackend('tensorflow') && loadedTfjsNode !== name && loadedTfjsNode !== undefined) {
    throw new UserError(`${other} is already loaded in this process; tfjs-node and tfjs-node-gpu cannot both be used in one run`);
  }
  // libtensorflow reads its thread counts from the environment when it loads.
  if (threads > 0) process.env.TF_NUM_INTRAOP_THREADS ??= String(threads);
  if (!tf.findBackend('tensorflow')) {
    try {
      env.load(pkg);
    } catch (err) {
      throw new UserError(`${pkgName} ${pkg.version} is installed but failed to load: ${(err as Error).message}; reinstall it (${installHint(pkgName)})`);
    }
  }
  loadedTfjsNode = name;
  if (!(await tf.setBackend('tensorflow'))) throw new UserError(`${pkgName} loaded, but its "tensorflow" backend failed to start`);
}

let loadedTfjsNode: 'tfjs-node' | 'tfjs-node-gpu' | undefined;

/** Does the current tensorflow backend run on a GPU? (tfjs-node's backend exposes this flag.) */
export function tensorflowBackendUsesGpu(): boolean {
  const backend = tf.findBackend('tensorflow') as unknown as { isUsingGpuDevice?: boolean } | null;
  return backend?.isUsingGpuDevice === true;
}
