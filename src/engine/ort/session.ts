/**
 * Synchronous onnxruntime-node sessions for single-op (or few-op) graphs.
 *
 * TensorFlow.js kernels are synchronous; onnxruntime-node's public `InferenceSession.run` is a
 * Promise, but only in its JavaScript wrapper (dist/backend.js resolves the native binding's `run`
 * inside a setImmediate). We call the native binding directly. Two more properties of the binding
 * (js/node/src/tensor_helper.cc, inference_session_wrap.cc) make it cheap:
 *  - input tensors are wrapped, not copied: ORT reads the typed array's memory in place;
 *  - an output given as a tensor (instead of null) in `fetches` is written in place.
 * So a kernel reads a wasm-heap view and writes into a tensor the wasm backend has allocated, with
 * no copy in either direction. `test/engine/ortBinding.test.ts` pins all of this, so an
 * onnxruntime-node upgrade that changes it fails loudly instead of silently corrupting tensors.
 *
 * onnxruntime-node is a native package: required lazily, never at the top level.
 */
import { encodeModel, type OnnxGraph } from './onnxModel';
import { cpuLimit } from '../../core/cpuLimit';

/** The onnxruntime-node version whose binding internals this module relies on. */
export const PINNED_ORT_VERSION = '1.30.0';

/** What the native binding accepts as a tensor: the shape of onnxruntime-common's Tensor. */
export interface BindingTensor {
  type: 'float32' | 'int32' | 'int64' | 'bool' | 'uint8';
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
  dims: readonly number[];
  location: 'cpu';
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, BindingTensor>, fetches: Record<string, BindingTensor | null>, options?: object): Record<string, BindingTensor>;
  dispose(): void;
  readonly inputMetadata: Array<{ name: string }>;
  readonly outputMetadata: Array<{ name: string }>;
}

interface NativeBinding {
  InferenceSession: new () => NativeSession;
}

let binding: NativeBinding | undefined;
let threads = 0;

/** The native binding, loaded on first use. Throws a clear error when onnxruntime-node is absent or changed. */
export function ortBinding(): NativeBinding {
  if (binding) return binding;
  let mod: { binding: NativeBinding; initOrt: () => void };
  try {
    mod = require('onnxruntime-node/dist/binding');
  } catch (err) {
    throw new Error(`onnxruntime-node's native binding could not be loaded (${(err as Error).message}); reinstall with \`npm install onnxruntime-node@${PINNED_ORT_VERSION}\``);
  }
  if (typeof mod.initOrt !== 'function' || typeof mod.binding?.InferenceSession !== 'function') {
    throw new Error(`onnxruntime-node's binding no longer has the shape this engine relies on (initOrt, binding.InferenceSession); pin onnxruntime-node to ${PINNED_ORT_VERSION}`);
  }
  mod.initOrt();
  binding = mod.binding;
  return binding;
}

/** The installed onnxruntime-node version, or undefined when it is not installed. */
export function ortVersion(): string | undefined {
  try {
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Threads each ORT session uses (0: one per core). Takes effect for sessions created afterwards. */
export function setOrtThreads(n: number): void {
  if (n !== threads) {
    threads = n;
    clearOrtSessions();
  }
}

export function ortThreads(): number {
  return threads || cpuLimit().cores;
}

/** One loaded graph; `run` is synchronous. */
export class OrtOp {
  private readonly session: NativeSession;
  readonly inputNames: string[];
  readonly outputNames: string[];

  constructor(readonly graph: OnnxGraph) {
    const model = encodeModel(graph);
    this.session = new (ortBinding().InferenceSession)();
    this.session.loadModel(model.buffer, model.byteOffset, model.byteLength, {
      intraOpNumThreads: ortThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Sessions run one after another on the JS thread; a pool left spinning after its op would
      // steal a core from the next op's pool.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
    this.inputNames = this.session.inputMetadata.map((m) => m.name);
    this.outputNames = this.session.outputMetadata.map((m) => m.name);
  }

  /** Run with every output preallocated (written in place); returns what the binding returned. */
  run(feeds: Record<string, BindingTensor>, outputs: Record<string, BindingTensor>): unknown {
    return this.session.run(feeds, outputs);
  }

  /** Run and let ORT allocate the outputs (copied into new typed arrays by the binding). */
  runAllocating(feeds: Record<string, BindingTensor>): Record<string, BindingTensor> {
    const fetches: Record<string, null> = {};
    for (const name of this.outputNames) fetches[name] = null;
    return this.session.run(feeds, fetches);
  }

  dispose(): void {
    this.session.dispose();
  }
}

const sessions = new Map<string, OrtOp>();
let created = 0;

/**
 * Sessions kept at most: each holds its own thread pool and arena, and a run with varying shapes
 * (evaluation batches, multi-crop views) would otherwise add sessions without end. A training
 * step of ResNet-18 uses about 60.
 */
export const MAX_ORT_SESSIONS = 512;

/** The cached session for an op signature, created by `make` on first use (about 1 ms each). */
export function ortOp(key: string, make: () => OnnxGraph): OrtOp {
  let op = sessions.get(key);
  if (op) {
    // Most recently used last (Map keeps insertion order): the eviction below takes the oldest.
    sessions.delete(key);
    sessions.set(key, op);
    return op;
  }
  op = new OrtOp(make());
  sessions.set(key, op);
  created++;
  if (sessions.size > MAX_ORT_SESSIONS) {
    const [oldestKey, oldest] = sessions.entries().next().value as [string, OrtOp];
    sessions.delete(oldestKey);
    oldest.dispose();
  }
  return op;
}

const rejected = new Map<string, string>();

/**
 * Like `ortOp`, but a graph onnxruntime refuses (an attribute combination it does not support)
 * gives undefined, remembered per key, so the caller falls back instead of failing.
 */
export function tryOrtOp(key: string, make: () => OnnxGraph | undefined): OrtOp | undefined {
  if (sessions.has(key)) return ortOp(key, () => undefined as never);
  if (rejected.has(key)) return undefined;
  const graph = make();
  if (!graph) {
    rejected.set(key, 'not expressible');
    return undefined;
  }
  try {
    return ortOp(key, () => graph);
  } catch (err) {
    rejected.set(key, (err as Error).message);
    return undefined;
  }
}

/**
 * Drop a session whose run failed (onnxruntime checks some attributes only when it runs): later
 * calls with this key fall back at once. The reason stays in `ortRejections`.
 */
export function rejectOrtOp(key: string, reason: string): void {
  const op = sessions.get(key);
  sessions.delete(key);
  op?.dispose();
  rejected.set(key, reason);
}

/** Graphs onnxruntime refused, with its reasons (for tests and the engine profile). */
export function ortRejections(): ReadonlyMap<string, string> {
  return rejected;
}

export function ortSessionStats(): { cached: number; created: number } {
  return { cached: sessions.size, created };
}

export function clearOrtSessions(): void {
  for (const op of sessions.values()) op.dispose();
  sessions.clear();
  rejected.clear();
}

export function f32(data: Float32Array, dims: readonly number[]): BindingTensor {
  return { type: 'float32', data, dims, location: 'cpu' };
}
