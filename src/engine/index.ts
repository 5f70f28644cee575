/**
 * The engine: which TensorFlow.js backend a run trains on, set up so that it can train.
 *
 * `initEngine(config.engine)` picks (or checks) an engine, makes it current, registers the
 * gradients and training kernels it needs, and returns a report whose `summary` the trainer prints
 * at the top of every run. `auto` takes the fastest engine available and proven correct here:
 * tfjs-node-gpu (installed, and a GPU visible) → tfjs-node → wasm-ort → wasm → cpu.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/problems';
import type { EngineConfig } from './configSection';
import { activateTfjsNode, defaultEnvironment, tensorflowBackendUsesGpu, tfjsNodeAvailability, type Availability, type EngineEnvironment, type EngineName } from './engines';
import { ensureGradients } from './gradients';
import { installKernels, uninstallKernels, WASM_TRAINING_KERNELS } from './kernels';
import { ORT_KERNELS } from './ort/kernels';
import { checkOrt } from './ort/selfTest';
import { ortVersion, setOrtThreads } from './ort/session';
import { installHint, TFJS_NODE, TFJS_NODE_GPU } from './optionalPackages';

export { ENGINE_NAMES, type EngineName, type Availability, type EngineEnvironment } from './engines';
export type { EngineConfig } from './configSection';

export interface EngineReport {
  /** The tfjs backend tensors live on: `tensorflow`, `wasm` or `cpu`. */
  backend: string;
  /** The engine: the backend plus the kernels installed on it. */
  engine: EngineName;
  device: 'gpu' | 'cpu';
  /** Why this engine: the config asked for it, or what `auto` found missing. */
  reason: string;
  /** Versions of the packages doing the work. */
  versions: Record<string, string>;
  /** Threads of the heavy kernels (libtensorflow or onnxruntime); the wasm backend's own are 1 in Node. */
  threads: number;
  /** Every engine, whether this process can use it, and why not. */
  available: Availability[];
  /** One line for the top of a run's log. */
  summary: string;
}

/** The engines `auto` tries, fastest first, by device. */
const AUTO_ORDER: Record<'auto' | 'gpu' | 'cpu', EngineName[]> = {
  auto: ['tfjs-node-gpu', 'tfjs-node', 'wasm-ort', 'wasm', 'cpu'],
  gpu: ['tfjs-node-gpu'],
  cpu: ['tfjs-node', 'wasm-ort', 'wasm', 'cpu'],
};

let lastReport: EngineReport | undefined;

/** The report of the last `initEngine`, if any. */
export function engineReport(): EngineReport | undefined {
  return lastReport;
}

function loadJsBackends(): void {
  // Pure JavaScript / WebAssembly packages, loaded only when an engine is wanted: importing the
  // Node API or the registry (the editor does) must stay light.
  require('@tensorflow/tfjs-backend-cpu');
  require('@tensorflow/tfjs-backend-wasm');
}

/** Which engines this process can use, and why not. Loads nothing heavy (ORT's self-test aside). */
export function engineAvailability(env: EngineEnvironment = defaultEnvironment): Availability[] {
  const ort = checkOrt();
  return [
    tfjsNodeAvailability(env, 'tfjs-node-gpu'),
    tfjsNodeAvailability(env, 'tfjs-node'),
    { engine: 'wasm-ort', available: ort.ok, note: ort.ok ? `onnxruntime-node ${ort.version}` : (ort.problem ?? 'unavailable') },
    { engine: 'wasm', available: true, note: `@tensorflow/tfjs-backend-wasm ${tf.version_core}` },
    { engine: 'cpu', available: true, note: 'plain JavaScript, slow' },
  ];
}

function backendOf(engine: EngineName): string {
  return engine === 'tfjs-node' || engine === 'tfjs-node-gpu' ? 'tensorflow' : engine === 'cpu' ? 'cpu' : 'wasm';
}

/** The engine the config asks for, or a clear error saying how to get it. */
export function chooseEngine(config: Pick<EngineConfig, 'backend' | 'device'>, available: Availability[]): { engine: EngineName; reason: string } {
  const byName = new Map(available.map((a) => [a.engine, a]));
  const { backend, device } = config;
  if (backend === 'auto') {
    const skipped: string[] = [];
    for (const name of AUTO_ORDER[device]) {
      const a = byName.get(name)!;
      if (a.available) return { engine: name, reason: skipped.length ? `auto: ${skipped.join('; ')}` : 'auto: the fastest engine' };
      skipped.push(a.note);
    }
    throw new UserError(`engine.device: gpu needs @tensorflow/tfjs-node-gpu and a visible NVIDIA GPU (${skipped.join('; ')}); install it with ${installHint(TFJS_NODE_GPU)}, or set engine.device: auto`);
  }
  if (backend === 'tensorflow') {
    const gpu = byName.get('tfjs-node-gpu')!;
    const cpu = byName.get('tfjs-node')!;
    if (device === 'gpu') {
      if (gpu.available) return { engine: 'tfjs-node-gpu', reason: 'engine.backend: tensorflow, engine.device: gpu' };
      throw new UserError(`engine.backend: tensorflow with engine.device: gpu needs @tensorflow/tfjs-node-gpu and an NVIDIA GPU (${gpu.note}); install it with ${installHint(TFJS_NODE_GPU)}`);
    }
    if (device === 'auto' && gpu.available) return { engine: 'tfjs-node-gpu', reason: 'engine.backend: tensorflow (a GPU is visible)' };
    if (cpu.available) return { engine: 'tfjs-node', reason: `engine.backend: tensorflow${device === 'auto' ? ` (${gpu.note})` : ', engine.device: cpu'}` };
    throw new UserError(`engine.backend: tensorflow needs @tensorflow/tfjs-node (${cpu.note}); install it with ${installHint(TFJS_NODE)}, or use engine.backend: auto`);
  }
  if (device === 'gpu') throw new UserError(`engine.backend: ${backend} runs on the CPU only; for engine.device: gpu use engine.backend: tensorflow with ${TFJS_NODE_GPU} (${installHint(TFJS_NODE_GPU)})`);
  const a = byName.get(backend)!;
  if (!a.available) {
    const fix = backend === 'wasm-ort' ? `reinstall it with \`npm install --save-exact onnxruntime-node@1.30.0\` (the project's .npmrc needs onnxruntime-node-install=skip), or use engine.backend: wasm` : 'use engine.backend: auto';
    throw new UserError(`engine.backend: ${backend} is not available here (${a.note}); ${fix}`);
  }
  return { engine: backend, reason: `engine.backend: ${backend}` };
}

async function activate(engine: EngineName, threads: number, env: EngineEnvironment): Promise<void> {
  if (engine === 'tfjs-node' || engine === 'tfjs-node-gpu') {
    await activateTfjsNode(env, engine, threads);
    return;
  }
  loadJsBackends();
  if (engine === 'cpu') {
    if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to start');
    return;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to start (its .wasm files could not be loaded)');
  // Training kernels go in after the backend started: tfjs runs kernel set-up functions at start,
  // and the kernels they replace must have been set up to serve as fallbacks. Installs stack, so
  // the onnxruntime kernels come off first: the training kernels go below them, never above (an
  // engine switch or a second initEngine would otherwise leave onnxruntime under the wasm engine,
  // or make two kernels each other's fallback).
  uninstallKernels(ORT_KERNELS);
  installKernels(WASM_TRAINING_KERNELS);
  if (engine === 'wasm-ort') {
    setOrtThreads(threads);
    installKernels(ORT_KERNELS);
  }
}

function quietCpuBackend(): void {
  // The cpu backend greets Node users once with advice to install tfjs-node; the engine report
  // already says what runs and why.
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

/**
 * Pick and start the engine for `options` (the config's `engine` section; defaults: auto, auto,
 * one thread per core). Safe to call again to switch engines.
 */
export async function initEngine(options: Partial<EngineConfig> = {}, env: EngineEnvironment = defaultEnvironment): Promise<EngineReport> {
  const config = { backend: options.backend ?? 'auto', device: options.device ?? 'auto', threads: options.threads ?? 0 };
  const threads = config.threads > 0 ? config.threads : os.availableParallelism();
  const available = engineAvailability(env);
  let { engine, reason } = chooseEngine(config, available);
  try {
    await activate(engine, threads, env);
  } catch (err) {
    if (config.backend !== 'auto' || engine === 'cpu' || err instanceof UserError) throw err;
    // auto: an engine that looked available failed to start; say so and take the next one.
    const failed = available.find((a) => a.engine === engine)!;
    failed.available = false;
    failed.note = `${engine} failed to start: ${(err as Error).message}`;
    ({ engine, reason } = chooseEngine(config, available));
    await activate(engine, threads, env);
  }
  quietCpuBackend();
  ensureGradients();
  const device = engine === 'tfjs-node-gpu' && tensorflowBackendUsesGpu() ? 'gpu' : 'cpu';
  const report: EngineReport = {
    backend: backendOf(engine),
    engine,
    device,
    reason,
    versions: versionsOf(engine, env),
    threads: engine === 'wasm' || engine === 'cpu' ? 1 : threads,
    available,
    summary: '',
  };
  report.summary = summarize(report);
  lastReport = report;
  return report;
}

function versionsOf(engine: EngineName, env: EngineEnvironment): Record<string, string> {
  const versions: Record<string, string> = { '@tensorflow/tfjs-core': tf.version_core };
  if (engine === 'wasm' || engine === 'wasm-ort') versions['@tensorflow/tfjs-backend-wasm'] = require('@tensorflow/tfjs-backend-wasm').version_wasm;
  if (engine === 'cpu') versions['@tensorflow/tfjs-backend-cpu'] = require('@tensorflow/tfjs-backend-cpu').version_cpu;
  if (engine === 'wasm-ort') versions['onnxruntime-node'] = ortVersion() ?? '?';
  if (engine === 'tfjs-node') versions[TFJS_NODE] = env.resolvePackage(TFJS_NODE)?.version ?? '?';
  if (engine === 'tfjs-node-gpu') versions[TFJS_NODE_GPU] = env.resolvePackage(TFJS_NODE_GPU)?.version ?? '?';
  return versions;
}

const DESCRIPTIONS: Record<EngineName, string> = {
  'tfjs-node-gpu': 'libtensorflow (tfjs-node-gpu)',
  'tfjs-node': 'libtensorflow on the CPU (tfjs-node)',
  'wasm-ort': 'tfjs wasm backend + onnxruntime-node CPU kernels',
  wasm: 'tfjs wasm backend (XNNPACK) + composed training kernels',
  cpu: 'tfjs plain JavaScript cpu backend',
};

function summarize(r: EngineReport): string {
  const versions = Object.entries(r.versions)
    .map(([name, v]) => `${name.replace('@tensorflow/', '')} ${v}`)
    .join(', ');
  const threads = r.engine === 'wasm-ort' ? `${r.threads} threads for the native kernels, 1 for wasm` : `${r.threads} thread${r.threads === 1 ? '' : 's'}`;
  return `${r.engine} on ${r.device.toUpperCase()}: ${DESCRIPTIONS[r.engine]} (${versions}; ${threads}) — ${r.reason}`;
}
