/**
 * The engine: which TensorFlow.js backend a run trains on, set up so that it can train.
 *
 * `initEngine(config.engine)` picks (or checks) an engine, makes it current, registers the
 * gradients and training kernels it needs, and returns a report whose `summary` the trainer prints
 * at the top of every run. `auto` takes the fastest engine available and proven correct here:
 * tfjs-node-gpu (installed, and a GPU visible) → webgpu (installed, on a hardware adapter) →
 * tfjs-node → wasm-ort → wasm → cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/problems';
import { cpuLimit } from '../core/cpuLimit';
import type { EngineConfig } from './configSection';
import { activateTfjsNode, defaultEnvironment, tensorflowBackendUsesGpu, tfjsNodeAvailability, type Availability, type EngineEnvironment, type EngineName } from './engines';
import { ensureGradients } from './gradients';
import { installKernels, uninstallKernels, WASM_TRAINING_KERNELS } from './kernels';
import { ORT_KERNELS } from './ort/kernels';
import { checkOrt } from './ort/selfTest';
import { ortVersion, setOrtThreads } from './ort/session';
import { activateOnednn, onednnInUse } from './onednn';
import { installHint, TFJS_NODE, TFJS_NODE_GPU } from './optionalPackages';
import { activateWebgpu, describeAdapter, TFJS_WEBGPU, tfjsWebgpuPackage, WEBGPU, webgpuInstallHint, type AdapterSummary, type WebgpuProbe } from './webgpu';
import { quietCpuBackend } from './quietCpuBackend';

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
  /** webgpu: the adapter it runs on. */
  adapter?: AdapterSummary;
  /** Lines the user should read (a software adapter's slowness). */
  warnings: string[];
  /** The line for the top of a run's log (and a `warning:` line under it for each warning). */
  summary: string;
}

/** The engines `auto` tries, fastest first, by device. */
const AUTO_ORDER: Record<'auto' | 'gpu' | 'cpu', EngineName[]> = {
  auto: ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm-ort', 'wasm', 'cpu'],
  gpu: ['tfjs-node-gpu', 'webgpu'],
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

/**
 * Which engines this process can use, and why not. Loads nothing heavy (ORT's self-test aside);
 * webgpu's entry is `webgpu`, the result of `probeWebgpu` (asynchronous: it asks Dawn for an
 * adapter), or "not probed".
 */
export function engineAvailability(env: EngineEnvironment = defaultEnvironment, webgpu?: WebgpuProbe): Availability[] {
  const ort = checkOrt();
  return [
    tfjsNodeAvailability(env, 'tfjs-node-gpu'),
    webgpu ? { engine: 'webgpu', ...webgpu } : { engine: 'webgpu', available: false, note: 'not probed (engine.backend names a CPU engine)' },
    tfjsNodeAvailability(env, 'tfjs-node'),
    { engine: 'wasm-ort', available: ort.ok, note: ort.ok ? `onnxruntime-node ${ort.version}` : (ort.problem ?? 'unavailable') },
    { engine: 'wasm', available: true, note: `@tensorflow/tfjs-backend-wasm ${tf.version_core}` },
    { engine: 'cpu', available: true, note: 'plain JavaScript, slow' },
  ];
}

function backendOf(engine: EngineName): string {
  return engine === 'tfjs-node' || engine === 'tfjs-node-gpu' ? 'tensorflow' : engine === 'cpu' || engine === 'webgpu' ? engine : 'wasm';
}

/** Can `auto` (or engine.device: gpu) take it? A software WebGPU adapter is a CPU, and a slow one. */
function autoUsable(a: Availability): boolean {
  return a.available && !a.adapter?.software;
}

function autoSkipNote(a: Availability): string {
  return a.available && a.adapter?.software ? `webgpu has only a software adapter, ${a.adapter.device || a.adapter.description} (auto never picks one; engine.backend: webgpu uses it, slowly)` : a.note;
}

/** How to get a GPU engine, for errors. */
function gpuInstallHints(): string {
  return `webgpu: ${webgpuInstallHint()}; or tfjs-node-gpu: ${installHint(TFJS_NODE_GPU)}`;
}

/** The engine the config asks for, or a clear error saying how to get it. */
export function chooseEngine(config: Pick<EngineConfig, 'backend' | 'device'>, available: Availability[]): { engine: EngineName; reason: string } {
  const byName = new Map(available.map((a) => [a.engine, a]));
  const { backend, device } = config;
  if (backend === 'auto') {
    const skipped: string[] = [];
    for (const name of AUTO_ORDER[device]) {
      const a = byName.get(name)!;
      if (autoUsable(a)) return { engine: name, reason: skipped.length ? `auto: ${skipped.join('; ')}` : 'auto: the fastest engine' };
      skipped.push(autoSkipNote(a));
    }
    throw new UserError(`engine.device: gpu found no GPU engine that can run here (${skipped.join('; ')}); install one — ${gpuInstallHints()} — or set engine.device: auto`);
  }
  if (backend === 'webgpu') {
    const a = byName.get('webgpu')!;
    if (!a.available) throw new UserError(`engine.backend: webgpu is not available here (${a.note}); ${a.note.includes('not installed') || a.note.includes('does not match') ? `install it with ${webgpuInstallHint()}` : 'use engine.backend: auto'}`);
    if (device === 'cpu') throw new UserError('engine.backend: webgpu runs on a WebGPU adapter, not on the CPU engines; with engine.device: cpu use engine.backend: auto, wasm-ort, wasm or cpu');
    if (device === 'gpu' && a.adapter?.software) throw new UserError(`engine.device: gpu, but the only WebGPU adapter here is a software one (${describeAdapter(a.adapter)}); set engine.device: auto to use it anyway (slowly), or run on a machine with a GPU driver`);
    return { engine: 'webgpu', reason: a.adapter?.software ? 'engine.backend: webgpu (a software adapter)' : 'engine.backend: webgpu' };
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
  if (device === 'gpu') throw new UserError(`engine.backend: ${backend} runs on the CPU only; for engine.device: gpu use engine.backend: webgpu or auto (${gpuInstallHints()})`);
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
  if (engine === 'webgpu') {
    // The engine's own kernels are wasm registrations; on webgpu the ops compose them from tfjs'
    // WebGPU kernels (ops/batchNorm.ts and the rest check for a backend kernel first).
    await activateWebgpu();
    return;
  }
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
    activateOnednn(threads);
  }
}

/**
 * Pick and start the engine for `options` (the config's `engine` section; defaults: auto, auto,
 * one thread per core). Safe to call again to switch engines.
 */
export async function initEngine(options: Partial<EngineConfig> = {}, env: EngineEnvironment = defaultEnvironment): Promise<EngineReport> {
  const config = { backend: options.backend ?? 'auto', device: options.device ?? 'auto', threads: options.threads ?? 0 };
  const threads = config.threads > 0 ? config.threads : cpuLimit().cores;
  // Asking Dawn for an adapter loads it (and Mesa): only when webgpu may be wanted.
  const cpuOnly = config.backend !== 'auto' && config.backend !== 'webgpu' && config.device !== 'gpu';
  // Only engine.backend: webgpu may run on a software adapter, so only then is one looked for.
  const webgpu = cpuOnly ? undefined : await (env.probeWebgpu ?? defaultEnvironment.probeWebgpu!)(config.backend === 'webgpu' ? 'all' : 'hardware');
  const available = engineAvailability(env, webgpu);
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
  const adapter = engine === 'webgpu' ? available.find((a) => a.engine === 'webgpu')?.adapter : undefined;
  const device = (engine === 'tfjs-node-gpu' && tensorflowBackendUsesGpu()) || (adapter && !adapter.software) ? 'gpu' : 'cpu';
  const report: EngineReport = {
    backend: backendOf(engine),
    engine,
    device,
    reason,
    versions: versionsOf(engine, env),
    threads: engine === 'wasm' || engine === 'cpu' || engine === 'webgpu' ? 1 : threads,
    available,
    ...(adapter ? { adapter } : {}),
    warnings: adapter?.software ? [`webgpu is running on a software adapter (${adapter.device || adapter.description}): the CPU emulating a GPU, many times slower than engine.backend: wasm-ort; fine for tests, not for training`] : [],
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
  if (engine === 'wasm-ort' && onednnInUse()) versions.oneDNN = onednnInUse()!;
  if (engine === 'tfjs-node') versions[TFJS_NODE] = env.resolvePackage(TFJS_NODE)?.version ?? '?';
  if (engine === 'tfjs-node-gpu') versions[TFJS_NODE_GPU] = env.resolvePackage(TFJS_NODE_GPU)?.version ?? '?';
  if (engine === 'webgpu') {
    versions[WEBGPU] = env.resolvePackage(WEBGPU)?.version ?? '?';
    versions[TFJS_WEBGPU] = tfjsWebgpuPackage(env.resolvePackage)?.version ?? '?';
  }
  return versions;
}

const DESCRIPTIONS: Record<EngineName, string> = {
  'tfjs-node-gpu': 'libtensorflow (tfjs-node-gpu)',
  webgpu: 'tfjs WebGPU backend on Dawn',
  'tfjs-node': 'libtensorflow on the CPU (tfjs-node)',
  'wasm-ort': 'tfjs wasm backend + onnxruntime-node CPU kernels',
  wasm: 'tfjs wasm backend (XNNPACK) + composed training kernels',
  cpu: 'tfjs plain JavaScript cpu backend',
};

function summarize(r: EngineReport): string {
  const versions = Object.entries(r.versions)
    .map(([name, v]) => `${name.replace('@tensorflow/', '')} ${v}`)
    .join(', ');
  const count = `${r.threads} thread${r.threads === 1 ? '' : 's'}`;
  const threads = r.adapter ? `adapter ${describeAdapter(r.adapter)}` : r.engine === 'wasm-ort' ? `${count} for the native kernels, 1 for wasm` : count;
  return [`${r.engine} on ${r.device.toUpperCase()}: ${DESCRIPTIONS[r.engine]} (${versions}; ${threads}) — ${r.reason}`, ...r.warnings.map((w) => `warning: ${w}`)].join('\n');
}
