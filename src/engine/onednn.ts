/**
 * oneDNN's convolutions under the wasm-ort engine (packages/onednn, a Node-API addon over the
 * system's oneDNN, the library PyTorch's CPU convolutions run on): where the addon is, whether it
 * is built, building it (`cvw env --build-onednn`), and loading it once per process. When it loads,
 * Conv2D and both of its gradients run on it (ort/kernels/conv2d.ts), 1.5-3x faster than
 * onnxruntime's MLAS kernels on ResNet-18's layers (BENCHMARKS.md); everything else stays on
 * onnxruntime. Never required: without it (or with CVW_ONEDNN=0) the engine is what it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { backend_util } from '@tensorflow/tfjs-core';
import { packageRoot } from '../core/packageInfo';
import { UserError } from '../core/problems';
import { buildAddon } from '../core/nativeAddon';

export interface OnednnBinding {
  init(threads: number): { version: string; isa: string };
  /** kind 0: forward (x, filter → y); 1: input gradient (dy, filter → dx); 2: filter gradient (x, dy → dw). */
  conv(kind: ConvPass, params: Int32Array, a: Float32Array, b: Float32Array, out: Float32Array): void;
  impl(kind: ConvPass, params: Int32Array): string;
  cached(): number;
  abiVersion: number;
}

export const enum ConvPass {
  Forward = 0,
  InputGrad = 1,
  FilterGrad = 2,
}

export const ONEDNN_INSTALL_HINT = 'apt-get install libdnnl-dev g++ (Debian/Ubuntu 2.x), then `cvw env --build-onednn`';
/** Set to 0 to keep the convolutions on onnxruntime even where the addon is built. */
export const ONEDNN_ENV = 'CVW_ONEDNN';
const ABI_VERSION = 1;

export function onednnDir(): string {
  return path.join(packageRoot(), 'packages', 'onednn');
}

export function onednnFile(): string {
  return path.join(onednnDir(), 'build', 'Release', 'cvw_onednn.node');
}

/** oneDNN's C++ header where the compiler looks by default (or on CPATH): the development package is installed. */
function hasOnednnDev(): boolean {
  const dirs = ['/usr/include', '/usr/local/include', ...(process.env.CPATH ?? '').split(path.delimiter).filter(Boolean)];
  return dirs.some((d) => fs.existsSync(path.join(d, 'oneapi', 'dnnl', 'dnnl.hpp')));
}

export interface OnednnAvailability {
  /** The addon is built and loads. */
  available: boolean;
  /** oneDNN's development files are there, so the addon can be built. */
  installed: boolean;
  version?: string;
  isa?: string;
  note: string;
}

let loaded: { binding: OnednnBinding; version: string; isa: string } | undefined;
let loadError: string | undefined;

function load(threads: number): typeof loaded {
  if (loaded) {
    loaded.binding.init(threads);
    return loaded;
  }
  if (loadError !== undefined || !fs.existsSync(onednnFile())) return undefined;
  try {
    const binding = require(onednnFile()) as OnednnBinding;
    if (binding.abiVersion !== ABI_VERSION) throw new Error(`built by another version (ABI ${binding.abiVersion}, this one needs ${ABI_VERSION}); rebuild it with \`cvw env --build-onednn\``);
    loaded = { binding, ...binding.init(threads) };
    return loaded;
  } catch (e) {
    loadError = (e as Error).message;
    return undefined;
  }
}

/** What `cvw env` reports. */
export function onednnAvailability(): OnednnAvailability {
  const installed = hasOnednnDev();
  if (fs.existsSync(onednnFile())) {
    const l = load(0);
    if (l) {
      const off = process.env[ONEDNN_ENV] === '0' ? `, but ${ONEDNN_ENV}=0 keeps convolutions on onnxruntime` : '';
      return { available: true, installed, version: l.version, isa: l.isa, note: `oneDNN ${l.version} (${l.isa}) runs wasm-ort's convolutions${off}` };
    }
    return { available: false, installed, note: `the oneDNN addon ${onednnFile()} does not load: ${loadError}; rebuild it with \`cvw env --build-onednn\`` };
  }
  if (!installed) return { available: false, installed, note: `oneDNN not found: wasm-ort's convolutions run on onnxruntime; for about 2x faster ones: ${ONEDNN_INSTALL_HINT}` };
  return { available: false, installed, note: 'oneDNN found, its addon not built: `cvw env --build-onednn` makes wasm-ort\'s convolutions about 2x faster' };
}

/** Build the addon (when missing): `cvw env --build-onednn`. */
export function buildOnednn(log: (m: string) => void = () => undefined): string {
  if (fs.existsSync(onednnFile())) return onednnFile();
  if (!hasOnednnDev()) throw new UserError(`building the oneDNN addon needs oneDNN's development files (oneapi/dnnl/dnnl.hpp not found): ${ONEDNN_INSTALL_HINT}`);
  return buildAddon({ dir: onednnDir(), file: onednnFile(), label: 'the oneDNN addon', uses: '-ldnnl' }, log);
}

let active: { binding: OnednnBinding; version: string; isa: string } | undefined;

/**
 * Called when wasm-ort starts: use oneDNN from now on if its addon is built and loads (and
 * CVW_ONEDNN is not 0), with `threads` OpenMP threads.
 */
export function activateOnednn(threads: number): void {
  active = undefined;
  if (process.env[ONEDNN_ENV] === '0') return;
  // oneDNN's OpenMP threads would otherwise spin after each convolution, on the cores the next
  // onnxruntime kernel's threads need. Read once, when libgomp loads with the addon.
  if (!loaded && process.env.OMP_WAIT_POLICY === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  active = load(threads);
}

/** Stop using oneDNN (another engine started, or a test compares with onnxruntime). */
export function deactivateOnednn(): void {
  active = undefined;
}

/** The addon while wasm-ort uses it. */
export function onednn(): OnednnBinding | undefined {
  return active?.binding;
}

/** "<version> (<isa>)" while wasm-ort uses oneDNN (the engine line's versions). */
export function onednnInUse(): string | undefined {
  return active && `${active.version} (${active.isa})`;
}

/**
 * oneDNN's trailing padding for one dimension: TensorFlow's, unless oneDNN's output size rule
 * (floor((in + before + after - kernel extent) / stride) + 1) gives another size with it, as it
 * does for TensorFlow's dimRoundingMode 'ceil': then the padding that gives TensorFlow's size (the
 * extra rows read are zeros either way).
 */
function trailingPad(input: number, output: number, filter: number, stride: number, dilation: number, before: number, after: number): number {
  const extent = (filter - 1) * dilation + 1;
  if (Math.floor((input + before + after - extent) / stride) + 1 === output) return after;
  return (output - 1) * stride + extent - input - before;
}

/** The addon's 18 parameters for a convolution (see packages/onednn/src/onednn.cc). */
export function onednnParams(info: backend_util.Conv2DInfo): Int32Array {
  const p = info.padInfo;
  return Int32Array.from([
    info.dataFormat === 'channelsFirst' ? 1 : 0,
    info.batchSize,
    info.inChannels,
    info.inHeight,
    info.inWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    p.top,
    p.left,
    trailingPad(info.inHeight, info.outHeight, info.filterHeight, info.strideHeight, info.dilationHeight, p.top, p.bottom),
    trailingPad(info.inWidth, info.outWidth, info.filterWidth, info.strideWidth, info.dilationWidth, p.left, p.right),
  ]);
}
