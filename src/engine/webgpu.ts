/**
 * The `webgpu` engine: TensorFlow.js' WebGPU backend (@tensorflow/tfjs-backend-webgpu) on Dawn,
 * Chrome's WebGPU implementation, which the npm package `webgpu` ships prebuilt (dawn.node). Both
 * are optional dependencies: nothing here loads them until an engine is wanted, and a missing
 * package is reported with the command that installs it.
 *
 * Adapters: Dawn's default backend first (Vulkan on Linux: an NVIDIA/AMD/Intel GPU), then its
 * OpenGL backend in compatibility mode (Mesa's EGL, surfaceless: on a machine without a GPU that is
 * llvmpipe, a software rasterizer; Dawn refuses Mesa's Vulkan lavapipe). A software adapter is
 * reported but never picked by `auto`: it computes the same numbers, many times slower than wasm.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/problems';
import { nativeModuleHint } from '../core/nativeModules';
import { resolvePackage, type ResolvedPackage } from './optionalPackages';
import { bundledTfjsWebgpu } from './bundledTfjsWebgpu';

export const WEBGPU = 'webgpu';
export const TFJS_WEBGPU = '@tensorflow/tfjs-backend-webgpu';
export const WEBGPU_VERSION = '0.6.2';

/** What `cvw env` and the engine line say about an adapter. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  /** Dawn puts the driver here (OpenGL: "OpenGL version 4.5 (Core Profile) Mesa 22.3.6"). */
  description: string;
  /** Which Dawn backend found it. */
  api: 'default' | 'opengl';
  /** A CPU pretending to be a GPU: llvmpipe, SwiftShader, lavapipe, or Dawn's fallback flag. */
  software: boolean;
}

export interface WebgpuProbe {
  /** Both packages installed and an adapter found. */
  available: boolean;
  note: string;
  adapter?: AdapterSummary;
}

/** The install command, for `cvw env` and errors. */
export function webgpuInstallHint(): string {
  // The bundled CLI carries tfjs' WebGPU backend: only Dawn can be missing (the universal VSIX).
  if (bundledTfjsWebgpu) return `Dawn from a platform VSIX or npm (this bundled cvw has tfjs' WebGPU backend in it): ${nativeModuleHint('webgpu')}`;
  return `npm install --save-exact webgpu@${WEBGPU_VERSION} ${TFJS_WEBGPU}@${tf.version_core} (Dawn, prebuilt for linux-x64, darwin and win32; on Linux without a GPU driver, Mesa's EGL — Debian: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri — gives a slow software adapter)`;
}

const SOFTWARE_NAMES = /llvmpipe|softpipe|swiftshader|lavapipe|software rasterizer|microsoft basic render/i;

/** Is this adapter a CPU rasterizer? (Pure: the selection rules test it.) */
export function isSoftwareAdapter(info: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter) return true;
  return SOFTWARE_NAMES.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

/** "llvmpipe-llvm-15-0-6-256-bits- (software; OpenGL version 4.5 (Core Profile) Mesa 22.3.6)". */
export function describeAdapter(a: AdapterSummary): string {
  const name = [a.vendor, a.architecture, a.device].filter((s) => s).join(' ') || 'unnamed adapter';
  const details = [a.software ? 'software' : 'hardware', a.description, a.api === 'opengl' ? 'Dawn OpenGL backend, compatibility mode' : ''].filter((s) => s);
  return `${name} (${details.join('; ')})`;
}

// The little of the WebGPU API used here, typed locally: the optional packages (and the
// @webgpu/types they bring) may be absent where this compiles.
interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapter {
  info: AdapterInfo;
  features: ReadonlySet<string>;
  limits: Record<string, number>;
  requestDevice(descriptor: { requiredFeatures: string[]; requiredLimits: Record<string, number> }): Promise<GpuDevice>;
}
interface GpuDevice {
  addEventListener(type: 'uncapturederror', listener: (event: { error: GpuError }) => void): void;
  lost: Promise<{ reason: string; message: string }>;
}
interface GpuError {
  message: string;
}
interface Gpu {
  requestAdapter(options: { powerPreference?: string; featureLevel?: string }): Promise<GpuAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}
type WebGPUBackendClass = new (device: unknown, info: unknown) => tf.KernelBackend;

interface Found {
  gpu: Gpu;
  adapter: GpuAdapter;
  summary: AdapterSummary;
}

let dawn: DawnModule | undefined;
/** Where the tfjs backend package was found (beside this package, or in the user's project). */
let backendDir: string | undefined;
/** Which adapters a probe looks for: `hardware` (what `auto` may pick) or `all` (software ones too). */
export type ProbeScope = 'hardware' | 'all';
const probed = new Map<ProbeScope, Promise<{ found?: Found; problem?: string }>>();

function loadDawn(pkg: ResolvedPackage): DawnModule {
  if (dawn) return dawn;
  // The package's entry point is an ES module; its native addon is what it loads, one per platform.
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  const addon = path.join(pkg.dir, 'dist', `${process.platform}-${arch}`, 'dawn.node');
  // Mesa's EGL needs no display for compute: without this it looks for X11/Wayland and finds none.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  dawn = require(addon) as DawnModule;
  // tfjs-webgpu refers to GPUBufferUsage, GPUMapMode… as globals, as in a browser.
  for (const [name, value] of Object.entries(dawn.globals)) if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  return dawn;
}

function summarize(adapter: GpuAdapter, api: AdapterSummary['api']): AdapterSummary {
  // GPUAdapterInfo's fields are getters: copied out, they survive JSON and the report.
  const { vendor = '', architecture = '', device = '', description = '' } = adapter.info;
  return { vendor, architecture, device, description, api, software: isSoftwareAdapter(adapter.info) };
}

/**
 * Is Vulkan's loader (libvulkan.so.1) on this Linux machine? Dawn prints a warning to the process's
 * stderr when it is not, which every `cvw` run on a machine without a GPU would then show; other
 * platforms' native APIs (Metal, D3D) are always there.
 */
export function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const name = 'libvulkan.so.1';
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d), `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, '/usr/lib64', '/usr/lib', '/lib64', '/usr/local/lib'];
  if (dirs.some((d) => fs.existsSync(path.join(d, name)))) return true;
  // Anywhere else the dynamic linker looks (ld.so.conf.d: the NVIDIA driver's own folder, say).
  const ldconfig = ['/sbin/ldconfig', '/usr/sbin/ldconfig'].find((f) => fs.existsSync(f));
  if (!ldconfig) return false;
  const listed = spawnSync(ldconfig, ['-p'], { encoding: 'utf8', timeout: 5000 });
  return listed.status === 0 && listed.stdout.includes(name);
}

async function findAdapter(d: DawnModule, scope: ProbeScope): Promise<Found | undefined> {
  let software: Found | undefined;
  if (vulkanLoaderPresent()) {
    const native = d.create([]);
    const vulkan = await native.requestAdapter({ powerPreference: 'high-performance' });
    if (vulkan) {
      const summary = summarize(vulkan, 'default');
      if (!summary.software) return { gpu: native, adapter: vulkan, summary };
      software = { gpu: native, adapter: vulkan, summary };
    }
  }
  // Dawn's OpenGL backend finds Mesa's software renderer where there is no GPU (the tests' adapter).
  if (scope === 'hardware') return undefined;
  const opengl = d.create(['backend=opengl']);
  const gl = await opengl.requestAdapter({ featureLevel: 'compatibility' });
  if (gl) {
    const summary = summarize(gl, 'opengl');
    if (!summary.software || !software) return { gpu: opengl, adapter: gl, summary };
  }
  return software;
}

/**
 * Where tfjs' WebGPU backend comes from: the bundle's own copy in the bundled CLI (always: one from
 * the workspace would register into the workspace's tfjs-core), else node_modules.
 */
export function tfjsWebgpuPackage(resolve: (name: string) => ResolvedPackage | undefined = resolvePackage): { version: string; dir?: string } | undefined {
  return bundledTfjsWebgpu ? { version: bundledTfjsWebgpu.version } : resolve(TFJS_WEBGPU);
}

/** Are both packages there, and which adapter does Dawn find? Probed once per process. */
export async function probeWebgpu(resolve: (name: string) => ResolvedPackage | undefined = resolvePackage, scope: ProbeScope = 'all'): Promise<WebgpuProbe> {
  const pkg = resolve(WEBGPU);
  const backend = tfjsWebgpuPackage(resolve);
  if (!pkg || !backend) return { available: false, note: `${!pkg ? 'webgpu' : TFJS_WEBGPU} not installed` };
  if (backend.version !== tf.version_core) return { available: false, note: `${TFJS_WEBGPU} ${backend.version} does not match @tensorflow/tfjs-core ${tf.version_core}` };
  backendDir = backend.dir;
  if (!probed.has(scope)) {
    probed.set(
      scope,
      (async () => {
        try {
          return { found: await findAdapter(loadDawn(pkg), scope) };
        } catch (err) {
          return { problem: `webgpu ${pkg.version} failed to load: ${(err as Error).message}` };
        }
      })(),
    );
  }
  const { found, problem } = await probed.get(scope)!;
  if (problem) return { available: false, note: problem };
  if (!found && scope === 'hardware') return { available: false, note: `webgpu ${pkg.version} installed, but Dawn found no GPU adapter (${vulkanLoaderPresent() ? 'no Vulkan GPU driver' : 'no Vulkan loader, libvulkan.so.1'}); auto does not look for software adapters; cvw env lists them` };
  if (!found) return { available: false, note: `webgpu ${pkg.version} installed, but Dawn found no adapter (no Vulkan GPU driver, and no EGL/OpenGL: on Debian apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri)` };
  return { available: true, note: `webgpu ${pkg.version}, ${TFJS_WEBGPU} ${backend.version}${bundledTfjsWebgpu ? ' (bundled)' : ''}: ${describeAdapter(found.summary)}`, adapter: found.summary };
}

/**
 * Load tfjs' WebGPU backend and make it current, on the adapter `probeWebgpu` found. tfjs' own
 * registration asks `navigator.gpu` for a high-performance adapter, which in Node is neither there
 * nor, on Mesa, able to find the compatibility-mode one: the backend is registered here instead.
 */
export async function activateWebgpu(): Promise<void> {
  // The adapter of whichever probe made webgpu available (a hardware one wherever there is one).
  const found = (await probed.get('hardware'))?.found ?? (await probed.get('all'))?.found;
  if (!found) throw new Error('no WebGPU adapter (probeWebgpu first)');
  if (tf.getBackend() === WEBGPU && tf.findBackend(WEBGPU)) return;
  const { WebGPUBackend } = (bundledTfjsWebgpu ? bundledTfjsWebgpu.load() : require(backendDir ?? TFJS_WEBGPU)) as { WebGPUBackend: WebGPUBackendClass };
  if (!tf.findBackend(WEBGPU)) {
    if (tf.findBackendFactory(WEBGPU)) tf.removeBackend(WEBGPU);
    const { adapter } = found;
    // The backend checks for WebGPU as a browser has it, at navigator.gpu (Node 21+ has a
    // navigator without gpu; Node 20 none).
    const nav = (globalThis as { navigator?: object }).navigator;
    if (!nav) Object.defineProperty(globalThis, 'navigator', { value: { gpu: found.gpu }, configurable: true, writable: true });
    else if (!('gpu' in nav)) Object.defineProperty(nav, 'gpu', { value: found.gpu, configurable: true });
    // The limits and features tfjs' own registration asks for.
    const limits = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
      requiredLimits: {
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      },
    });
    watchErrors(device);
    // Priority 0: loading this engine must not change what a bare tf.ready() picks.
    tf.registerBackend(WEBGPU, () => withClearSyncReads(new WebGPUBackend(device, adapter.info)), 0);
  }
  if (!(await tf.setBackend(WEBGPU))) throw new Error(`the ${WEBGPU} backend failed to start on ${describeAdapter(found.summary)}`);
}

/**
 * tfjs-webgpu reads GPU buffers synchronously through OffscreenCanvas, which Node lacks ("
 * OffscreenCanvas is not defined"): say what happened and what to do instead. Values already on
 * the CPU (uploaded from it, or read once with `await data()`) are still read synchronously.
 */
function withClearSyncReads(backend: tf.KernelBackend): tf.KernelBackend {
  const readSync = backend.readSync.bind(backend);
  const read = backend.read.bind(backend);
  // GPU errors arrive as events, after the call that caused them: the next read (the runner reads
  // the loss every step) ends the run with them instead of going on with garbage.
  backend.read = async (dataId: object) => {
    if (gpuError) throw new UserError(gpuError);
    const values = await read(dataId);
    if (gpuError) throw new UserError(gpuError);
    return values;
  };
  const tensors = (backend as unknown as { tensorMap: { get(id: object): { values?: unknown } | undefined } }).tensorMap;
  backend.readSync = (dataId: object) => {
    if (tensors.get(dataId)?.values == null && typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined') {
      throw new Error('the webgpu engine cannot read a GPU tensor synchronously in Node (dataSync/arraySync); read it with `await tensor.data()` (or cacheOnCpu from src/engine/readback.ts first)');
    }
    return readSync(dataId);
  };
  return backend;
}

/** The first GPU error of this process (out of memory, device lost, invalid work), as the user's message. */
let gpuError: string | undefined;

function watchErrors(device: GpuDevice): void {
  device.addEventListener('uncapturederror', (event) => {
    gpuError ??= describeGpuError(event.error);
  });
  void device.lost.then((info) => {
    gpuError ??= `the GPU device was lost (${info.reason}: ${info.message.split('\n')[0]}); if it ran out of memory, lower data.train.batch_size (or the input size) and start again`;
  });
}

/** What a WebGPU error means for a run: out of memory says what to lower. */
export function describeGpuError(error: GpuError): string {
  const first = error.message.split('\n')[0];
  const oom = error.constructor?.name === 'GPUOutOfMemoryError' || /out of memory/i.test(error.message);
  return oom ? `the GPU ran out of memory (${first}); lower data.train.batch_size (or the input size, or the model's width) and start again` : `WebGPU error: ${first}`;
}
