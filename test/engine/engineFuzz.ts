/**
 * Differential fuzzing of an engine against tfjs' plain cpu backend: seeded random configurations
 * of every op a training step relies on (convolutions, depthwise, transposed convolutions, matrix
 * products, pooling, resizing, batch norm, the engine's own kernels), value and gradients.
 *
 * A case is a pure function of (op, seed), so a failure is reproduced by its one line
 * (`npm run fuzz:engine -- --engines wasm-ort --ops depthwiseConv2d --seed 123`). Engines are
 * started through `initEngine`, as a user would; the cpu reference runs in the same process on
 * tfjs' `cpu` backend (tfjs keeps one engine per process, but its backends switch with
 * tf.setBackend, and the kernels an engine installs stay registered on its backend).
 *
 * The loss is Σ y·r with a fixed random r, so the gradients carry r back through every kernel;
 * the engine's run must leave no tensor and no backend buffer behind. Convolutions and resizes are
 * linear in each input, so where the cpu backend is no independent reference (the dilated and
 * resize gradients of src/engine are composed the same way on every backend) the gradients are
 * checked against central finite differences, exact for a linear function up to rounding.
 *
 * Left out, as no engine's kernels are at fault: numeric paddings with non-square windows or
 * strides (tfjs-core computes the output shape from the height alone), gradients of dilated
 * tf.fused convolutions (tfjs-core's fused op refuses them itself), and matrix products whose
 * batch dimensions broadcast both ways ([2,1] with [1,2]: tfjs' kernels flatten the batch).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine, type EngineName } from '../../src/engine';
import { batchNormTrain } from '../../src/engine/ops/batchNorm';
import { probeWebgpu } from '../../src/engine/webgpu';
import { Random } from '../../src/core/random';
import { maxAbsDiff } from './kernelHarness';

/** Engines the fuzz knows how to start (a new engine is one more name here and in initEngine). */
export const FUZZ_ENGINES = ['wasm', 'wasm-ort', 'webgpu'] as const satisfies readonly EngineName[];
/** The engines CI fuzzes with many seeds; webgpu runs on a software adapter there, a few seeds (webgpu.test.ts). */
export const CPU_FUZZ_ENGINES = FUZZ_ENGINES.filter((e) => e !== 'webgpu');

/** Why this process cannot start `engine` (printed once), or undefined: webgpu needs its optional package and an adapter. */
export async function whyNotStartable(engine: FuzzEngine): Promise<string | undefined> {
  if (engine !== 'webgpu') return undefined;
  const probe = await probeWebgpu();
  if (probe.available) return undefined;
  if (!warned) console.warn(`webgpu left out of the engine tests: ${probe.note}`);
  warned = true;
  return probe.note;
}
let warned = false;

/** The fuzz engines this process can start. */
export async function startableFuzzEngines(): Promise<FuzzEngine[]> {
  const out: FuzzEngine[] = [];
  for (const e of FUZZ_ENGINES) if (!(await whyNotStartable(e))) out.push(e);
  return out;
}

/** The tfjs backend an engine's tensors live on. */
export function fuzzBackend(engine: FuzzEngine): string {
  return engine === 'webgpu' ? 'webgpu' : 'wasm';
}
export type FuzzEngine = (typeof FUZZ_ENGINES)[number];

/** max |engine − cpu| ≤ TOLERANCE · max(1, max |cpu|): float32 sums of a few hundred terms in other orders. */
export const TOLERANCE = 1e-4;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

export interface Prepared {
  /** Shapes and attributes, for the one-line reproduction. */
  desc: Record<string, unknown>;
  /** Float inputs by name (values drawn from the case's seed), differentiated. */
  inputs: Record<string, { shape: number[]; values: Float32Array }>;
  /** The op under test: its outputs from the inputs (tensors in the same order as `inputs`). */
  run(xs: tf.Tensor[]): tf.Tensor[];
  /** Inputs the function is linear in (for the finite-difference check), when asked for. */
  linearIn?: string[];
  /** How many of the outputs the loss sums (default all); the others are compared by value only. */
  lossOutputs?: number;
  /**
   * Why the cpu backend's gradient is no independent reference (the engine composes it the same
   * way on every backend): the engine's gradients are checked against finite differences of the
   * cpu forward pass instead (the op must be linear in `linearIn`, which then lists every input).
   */
  cpuGradientNotIndependent?: string;
}

type Generator = (rng: Random) => Prepared;

function pick<T>(rng: Random, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

function between(rng: Random, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

function normals(rng: Random, shape: number[]): { shape: number[]; values: Float32Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, values: Float32Array.from({ length: n }, () => rng.normal()) };
}

function randomPad(rng: Random): Pad {
  const r = rng.int(3);
  if (r === 0) return 'same';
  if (r === 1) return 'valid';
  return [
    [0, 0],
    [rng.int(3), rng.int(3)],
    [rng.int(3), rng.int(3)],
    [0, 0],
  ];
}

/** Strides 1-3 and dilations 1-2 per axis; tfjs takes dilations > 1 only at stride 1. */
function stridesAndDilations(rng: Random, allowDilation = true): { strides: [number, number]; dilations: [number, number] } {
  if (allowDilation && rng.chance(0.3)) return { strides: [1, 1], dilations: [between(rng, 1, 2), between(rng, 1, 2)] };
  const s = between(rng, 1, 3);
  return { strides: rng.chance(0.7) ? [s, s] : [between(rng, 1, 3), between(rng, 1, 3)], dilations: [1, 1] };
}

/** Draw until the convolution has a non-empty output (tfjs refuses empty ones). */
function convGeometry(rng: Random, depthwise: boolean, allowDilation = true): ConvSpec {
  for (;;) {
    // Now and then a larger one: onnxruntime and XNNPACK pick other algorithms (tiles, NCHWc blocks) by size.
    const large = rng.chance(0.15);
    const size = large ? 40 : 12;
    const x: [number, number, number, number] = [between(rng, 1, 3), between(rng, 1, size), between(rng, 1, size), between(rng, 1, large ? 24 : 5)];
    const k: [number, number] = rng.chance(0.5) ? [between(rng, 1, 5), between(rng, 1, 5)] : pick(rng, [[1, 1], [3, 3], [5, 5]] as Array<[number, number]>);
    const { strides, dilations } = stridesAndDilations(rng, allowDilation);
    const pad = randomPad(rng);
    const co = depthwise ? between(rng, 1, 3) : between(rng, 1, large ? 24 : 5);
    const filter: [number, number, number, number] = [k[0], k[1], x[3], co];
    const info = tf.backend_util.computeConv2DInfo(x, filter, strides, dilations, pad, undefined, depthwise);
    if (info.outHeight > 0 && info.outWidth > 0) return { x, filter, strides, dilations, pad };
  }
}

function padLabel(pad: Pad): string {
  return typeof pad === 'string' ? pad : `[${pad[1]}|${pad[2]}]`;
}

/** One convolution's geometry: what the regression tests name, and the fuzz draws. */
export interface ConvSpec {
  x: [number, number, number, number];
  /** [kh, kw, in, out] (depthwise: [kh, kw, in, multiplier]; transposed: the forward convolution's). */
  filter: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
}

export type ConvKind = 'conv2d' | 'fusedConv2d' | 'depthwiseConv2d' | 'fusedDepthwiseConv2d' | 'conv2dTranspose';

/**
 * The case for one convolution; `rng` draws the values. A transposed convolution maps the forward
 * convolution's output back to `spec.x` (its filter is the forward one, [kh, kw, out, in] to tfjs).
 */
export function convPrepared(kind: ConvKind, spec: ConvSpec, rng: Random): Prepared {
  const { x: xShape, filter: filterShape, strides, dilations, pad } = spec;
  const desc = { x: xShape, filter: filterShape, stride: strides, dilation: dilations, pad: padLabel(pad) };
  if (kind === 'conv2dTranspose') {
    const input = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad).outShape;
    return {
      desc: { ...desc, x: input, outputShape: xShape },
      inputs: { x: normals(rng, input), filter: normals(rng, filterShape) },
      run: ([x, f]) => [tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, xShape, strides, pad as 'same' | 'valid')],
      linearIn: ['x', 'filter'],
    };
  }
  if (kind === 'fusedConv2d' || kind === 'fusedDepthwiseConv2d') {
    const activation = pick(rng, ['linear', 'relu'] as const);
    const fused = kind === 'fusedConv2d' ? tf.fused.conv2d : tf.fused.depthwiseConv2d;
    const biasSize = kind === 'fusedConv2d' ? filterShape[3] : filterShape[2] * filterShape[3];
    return {
      desc: { ...desc, activation },
      inputs: { x: normals(rng, xShape), filter: normals(rng, filterShape), bias: normals(rng, [biasSize]) },
      // tf.fused.depthwiseConv2d's type leaves out explicit paddings; the op and kernels take them.
      run: ([x, f, b]) => [fused({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides, pad: pad as 'same', dilations, bias: b, activation })],
    };
  }
  const depthwise = kind === 'depthwiseConv2d';
  return {
    desc: depthwise ? { ...desc, multiplier: filterShape[3] } : desc,
    inputs: { x: normals(rng, xShape), filter: normals(rng, filterShape) },
    run: ([x, f]) => [depthwise ? tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad, 'NHWC', dilations) : tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad, 'NHWC', dilations)],
    linearIn: ['x', 'filter'],
  };
}

const GENERATORS: Record<string, Generator> = {
  conv2d: (rng) => convPrepared('conv2d', convGeometry(rng, false), rng),
  // tfjs-core's fused op refuses gradients of dilated convolutions in its own custom gradient
  // (not a kernel); the toolkit's layers use the unfused conv2d.
  fusedConv2d: (rng) => convPrepared('fusedConv2d', convGeometry(rng, false, false), rng),
  depthwiseConv2d: (rng) => convPrepared('depthwiseConv2d', convGeometry(rng, true), rng),
  fusedDepthwiseConv2d: (rng) => convPrepared('fusedDepthwiseConv2d', convGeometry(rng, true, false), rng),
  conv2dTranspose(rng) {
    // tfjs' conv2dTranspose takes 'same' and 'valid' (and no dilation).
    for (;;) {
      const g = convGeometry(rng, false, false);
      const pad = g.pad === 'valid' ? 'valid' : 'same';
      const info = tf.backend_util.computeConv2DInfo(g.x, g.filter, g.strides, 1, pad);
      if (info.outHeight > 0 && info.outWidth > 0) return convPrepared('conv2dTranspose', { ...g, pad }, rng);
    }
  },
  matMul(rng) {
    const size = rng.chance(0.15) ? 70 : 9;
    const m = between(rng, 1, size);
    const k = between(rng, 1, size);
    const n = between(rng, 1, size);
    const rank = between(rng, 2, 4);
    const batch = Array.from({ length: rank - 2 }, () => between(rng, 1, 3));
    // Broadcast: one side's batch dimensions are all 1 or left out (tfjs' BatchMatMul kernels
    // flatten the batch dimensions, so [2,1] against [1,2] is no case they take, on any backend).
    const broadcastOne = (dims: number[]) => (rng.chance(0.5) ? dims.map(() => 1) : []).slice(rng.int(dims.length + 1));
    const mode = rng.int(3);
    const batchA = mode === 1 ? broadcastOne(batch) : batch;
    const batchB = mode === 2 ? broadcastOne(batch) : batch;
    const transposeA = rng.chance(0.5);
    const transposeB = rng.chance(0.5);
    const a = [...batchA, ...(transposeA ? [k, m] : [m, k])];
    const b = [...batchB, ...(transposeB ? [n, k] : [k, n])];
    return {
      desc: { a, b, transposeA, transposeB },
      inputs: { a: normals(rng, a), b: normals(rng, b) },
      run: ([x, y]) => [tf.matMul(x, y, transposeA, transposeB)],
      linearIn: ['a', 'b'],
    };
  },
  maxPool: (rng) => pool(rng, 'max'),
  avgPool: (rng) => pool(rng, 'avg'),
  resizeBilinear: (rng) => resize(rng, 'bilinear'),
  resizeNearestNeighbor: (rng) => resize(rng, 'nearest'),
  batchNorm(rng) {
    const c = between(rng, 1, 6);
    const x = rng.chance(0.7) ? [between(rng, 1, 3), between(rng, 1, 6), between(rng, 1, 6), c] : [between(rng, 1, 8), c];
    const eps = pick(rng, [1e-5, 1e-3]);
    const variance = { shape: [c], values: Float32Array.from({ length: c }, () => 0.2 + rng.next() * 2) };
    return {
      desc: { x, epsilon: eps },
      inputs: { x: normals(rng, x), mean: normals(rng, [c]), variance, offset: normals(rng, [c]), scale: normals(rng, [c]) },
      run: ([t, m, v, o, s]) => [tf.batchNorm(t, m as tf.Tensor1D, v as tf.Tensor1D, o as tf.Tensor1D, s as tf.Tensor1D, eps)],
    };
  },
  batchNormTrain(rng) {
    const c = between(rng, 1, 6);
    // At least two values per channel: a batch of one is its own mean, and the gradient is ~0.
    const x = rng.chance(0.7) ? [between(rng, 1, 3), between(rng, 2, 6), between(rng, 1, 6), c] : [between(rng, 2, 8), c];
    const affine = rng.chance(0.8);
    const inputs: Prepared['inputs'] = affine ? { x: normals(rng, x), gamma: normals(rng, [c]), beta: normals(rng, [c]) } : { x: normals(rng, x) };
    return {
      desc: { x, affine },
      inputs,
      run: ([t, g, b]) => {
        const out = batchNormTrain(t, g as tf.Tensor1D | undefined, b as tf.Tensor1D | undefined, 1e-5);
        return [out.y, out.mean, out.variance];
      },
      // The batch statistics feed the running averages, not the loss.
      lossOutputs: 1,
    };
  },
  gather(rng) {
    // Gather's gradient is the engine's UnsortedSegmentSum kernel.
    const rows = between(rng, 1, 8);
    const x = [rows, between(rng, 1, 5)];
    const count = between(rng, 1, 10);
    const indices = Int32Array.from({ length: count }, () => rng.int(rows));
    return {
      desc: { x, indices: Array.from(indices) },
      inputs: { x: normals(rng, x) },
      run: ([t]) => [tf.gather(t, tf.tensor1d(indices, 'int32'))],
      linearIn: ['x'],
    };
  },
  unsortedSegmentSum(rng) {
    const x = [between(rng, 1, 8), between(rng, 1, 4)];
    const numSegments = between(rng, 1, 6);
    const ids = Int32Array.from({ length: x[0] }, () => rng.int(numSegments));
    return {
      desc: { x, ids: Array.from(ids), numSegments },
      inputs: { x: normals(rng, x) },
      run: ([t]) => [tf.unsortedSegmentSum(t, tf.tensor1d(ids, 'int32'), numSegments)],
      linearIn: ['x'],
    };
  },
};

function pool(rng: Random, kind: 'max' | 'avg'): Prepared {
  for (;;) {
    const x: [number, number, number, number] = [between(rng, 1, 3), between(rng, 1, 12), between(rng, 1, 12), between(rng, 1, 4)];
    const filter: [number, number] = [between(rng, 1, 4), between(rng, 1, 4)];
    const s = between(rng, 1, 3);
    const strides: [number, number] = rng.chance(0.7) ? [s, s] : [between(rng, 1, 3), between(rng, 1, 3)];
    // A numeric padding takes the filter's height and stride for both axes in tfjs-core's output
    // shape (every backend; the wasm kernels then write out of bounds): square ones only.
    const pad = filter[0] === filter[1] && strides[0] === strides[1] ? pick(rng, ['same', 'valid', 0, 1] as const) : pick(rng, ['same', 'valid'] as const);
    const rounding = typeof pad === 'number' ? 'floor' : undefined;
    const info = tf.backend_util.computePool2DInfo(x, filter, strides, 1, pad, rounding);
    if (info.outHeight <= 0 || info.outWidth <= 0 || (typeof pad === 'number' && pad * 2 >= Math.min(...filter))) continue;
    return {
      desc: { x, filter, stride: strides, pad },
      inputs: { x: normals(rng, x) },
      run: ([t]) => [kind === 'max' ? tf.maxPool(t as tf.Tensor4D, filter, strides, pad, rounding) : tf.avgPool(t as tf.Tensor4D, filter, strides, pad, rounding)],
      linearIn: kind === 'avg' ? ['x'] : undefined,
    };
  }
}

function resize(rng: Random, kind: 'bilinear' | 'nearest'): Prepared {
  const x: [number, number, number, number] = [between(rng, 1, 3), between(rng, 1, 10), between(rng, 1, 10), between(rng, 1, 4)];
  const size: [number, number] = [between(rng, 1, 16), between(rng, 1, 16)];
  const alignCorners = rng.chance(0.3);
  const halfPixelCenters = !alignCorners && rng.chance(0.5);
  return {
    desc: { x, size, alignCorners, halfPixelCenters },
    inputs: { x: normals(rng, x) },
    cpuGradientNotIndependent: 'src/engine/resizeGradients.ts replaces the backends\' (wrong) resize gradient kernels everywhere',
    run: ([t]) => [kind === 'bilinear' ? tf.image.resizeBilinear(t as tf.Tensor4D, size, alignCorners, halfPixelCenters) : tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size, alignCorners, halfPixelCenters)],
    linearIn: ['x'],
  };
}

export const FUZZ_OPS = Object.keys(GENERATORS);

export interface FuzzCase {
  op: string;
  seed: number;
}

/** The op a seed exercises: ops take turns, so every op gets its share of any seed range. */
export function caseFor(seed: number, ops: readonly string[] = FUZZ_OPS): FuzzCase {
  return { op: ops[seed % ops.length], seed };
}

export function prepare(c: FuzzCase): Prepared {
  const generate = GENERATORS[c.op];
  if (!generate) throw new Error(`unknown fuzz op "${c.op}"; ops: ${FUZZ_OPS.join(', ')}`);
  return generate(new Random(c.seed * 7919 + 17));
}

interface Outcome {
  values: Float32Array[];
  grads: Float32Array[];
}

/** Read tensors back, asynchronously: the webgpu backend has no synchronous read in Node. */
async function readAll(ts: tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));
}

/** Value and gradients of Σ outputs·r on the current backend, from fresh tensors; none left behind. */
async function evaluate(p: Prepared, weights: Float32Array[] | undefined, seed: number, withGradients = true): Promise<{ outcome: Outcome; weights: Float32Array[] }> {
  const names = Object.keys(p.inputs);
  const xs = names.map((n) => tf.tensor(p.inputs[n].values, p.inputs[n].shape, 'float32'));
  try {
    const outs = tf.tidy(() => p.run(xs));
    const values = await readAll(outs);
    const shapes = outs.map((o) => o.shape);
    tf.dispose(outs.filter((o) => !xs.includes(o)));
    let used = weights;
    if (!used) {
      const rng = new Random(seed + 1);
      used = values.map((v) => Float32Array.from(v, () => rng.normal()));
    }
    const r = used;
    let grads: Float32Array[] = [];
    if (withGradients) {
      const gs = tf.tidy(() => {
        const rs = r.map((w, i) => tf.tensor(w, shapes[i], 'float32'));
        const loss = (...args: tf.Tensor[]) =>
          tf.addN(
            p
              .run(args)
              .slice(0, p.lossOutputs)
              .map((o, i) => tf.sum(tf.mul(o, rs[i]))),
          );
        return tf.grads(loss)(xs);
      });
      grads = await readAll(gs);
      tf.dispose(gs);
    }
    return { outcome: { values, grads }, weights: used };
  } finally {
    tf.dispose(xs);
  }
}

/**
 * Central differences of Σ y·r (on the current backend) along random directions vs `grads`, for the
 * inputs y is linear in: exact up to float32 rounding, whatever the step.
 */
function finiteDifferenceProblems(p: Prepared, grads: Float32Array[], weights: Float32Array[], seed: number, whose: string, directions = 1): string[] {
  const problems: string[] = [];
  const names = Object.keys(p.inputs);
  const rng = new Random(seed + 2);
  const lossAt = (inputs: Float32Array[]) =>
    tf.tidy(() => {
      const xs = inputs.map((v, i) => tf.tensor(v, p.inputs[names[i]].shape, 'float32'));
      const outs = p.run(xs);
      let total = 0;
      outs.slice(0, p.lossOutputs).forEach((o, i) => {
        const v = o.dataSync();
        for (let j = 0; j < v.length; j++) total += v[j] * weights[i][j];
      });
      return total;
    });
  for (const name of (p.linearIn ?? []).flatMap((n) => Array<string>(directions).fill(n))) {
    const i = names.indexOf(name);
    const base = names.map((n) => p.inputs[n].values);
    const dir = Float32Array.from(base[i], () => rng.normal());
    const plus = base.map((v, j) => (j === i ? Float32Array.from(v, (a, k) => a + dir[k]) : v));
    const minus = base.map((v, j) => (j === i ? Float32Array.from(v, (a, k) => a - dir[k]) : v));
    const fd = (lossAt(plus) - lossAt(minus)) / 2;
    let analytic = 0;
    let scale = 0;
    for (let k = 0; k < dir.length; k++) {
      analytic += grads[i][k] * dir[k];
      scale += Math.abs(grads[i][k] * dir[k]);
    }
    if (!(Math.abs(fd - analytic) <= 1e-3 * Math.max(1, scale))) problems.push(`${whose} gradient of ${name} vs finite differences: ${analytic.toPrecision(6)} vs ${fd.toPrecision(6)}`);
  }
  return problems;
}

export interface FuzzFailure extends FuzzCase {
  engine: string;
  desc: Record<string, unknown>;
  problem: string;
}

/** The failure as one line: engine, op, shapes and attributes, the seed, and the command to rerun it. */
export function reproLine(f: FuzzFailure): string {
  const attrs = Object.entries(f.desc)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  return `${f.engine} ${f.op} ${attrs} seed=${f.seed}: ${f.problem} — npm run fuzz:engine -- --engines ${f.engine} --ops ${f.op} --seed ${f.seed}`;
}

function compare(names: string[], actual: Float32Array[], expected: Float32Array[]): string | undefined {
  for (let i = 0; i < expected.length; i++) {
    if (actual[i].length !== expected[i].length) return `${names[i]}: ${actual[i].length} values, cpu ${expected[i].length}`;
    const { diff, scale } = maxAbsDiff(actual[i], expected[i]);
    if (!(diff <= TOLERANCE * Math.max(1, scale))) return `${names[i]}: max |diff| ${diff.toPrecision(3)} (cpu max ${scale.toPrecision(3)})`;
  }
  return undefined;
}

export interface FuzzOptions {
  engines: readonly FuzzEngine[];
  seeds: readonly number[];
  ops?: readonly string[];
  /** Check the cpu gradients of every case against finite differences (default: dilated convolutions only). */
  finiteDifferences?: boolean;
  onFailure?: (f: FuzzFailure) => void;
}

export interface FuzzSummary {
  cases: number;
  failures: FuzzFailure[];
  /** Cases per op, over all engines. */
  perOp: Record<string, number>;
}

function isDilated(desc: Record<string, unknown>): boolean {
  return Array.isArray(desc.dilation) && (desc.dilation as number[]).some((d) => d > 1);
}

/**
 * Compare one case on the current engine (its tfjs backend `backend`, started by initEngine) with
 * the cpu backend: values, gradients, and finite differences where the cpu is no independent
 * reference. Returns the problems found (none: the engine is right on this case).
 */
export async function checkOnEngine(backend: string, engine: string, p: Prepared, seed: number, finiteDifferences = false): Promise<string[]> {
  const problems: string[] = [];
  await tf.setBackend('cpu');
  let reference: { outcome: Outcome; weights: Float32Array[] };
  try {
    reference = await evaluate(p, undefined, seed, !p.cpuGradientNotIndependent);
  } catch (err) {
    return [`the cpu reference failed: ${(err as Error).message}`];
  }
  if (!p.cpuGradientNotIndependent && (finiteDifferences || isDilated(p.desc))) problems.push(...finiteDifferenceProblems(p, reference.outcome.grads, reference.weights, seed, 'cpu'));
  await tf.setBackend(backend);
  try {
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = tf.backend().numDataIds();
    const { outcome } = await evaluate(p, reference.weights, seed);
    // A kernel that forgets an intermediate leaks memory on every training step.
    const leakedTensors = tf.memory().numTensors - tensorsBefore;
    const leakedBuffers = tf.backend().numDataIds() - buffersBefore;
    if (leakedTensors || leakedBuffers) problems.push(`leaked ${leakedTensors} tensors and ${leakedBuffers} ${backend} buffers`);
    if (p.cpuGradientNotIndependent) {
      await tf.setBackend('cpu');
      problems.push(...finiteDifferenceProblems(p, outcome.grads, reference.weights, seed, engine, 3));
      outcome.grads = [];
    }
    const inputNames = Object.keys(p.inputs);
    const problem =
      compare(
        outcome.values.map((_, i) => `output ${i}`),
        outcome.values,
        reference.outcome.values,
      ) ??
      compare(
        inputNames.map((n) => `gradient of ${n}`),
        outcome.grads,
        reference.outcome.grads,
      );
    if (problem) problems.push(problem);
  } catch (err) {
    problems.push(`threw: ${(err as Error).message.split('\n')[0]}`);
  }
  return problems;
}

/** Run every seed on every engine, one engine at a time (initEngine switches). */
export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const failures: FuzzFailure[] = [];
  const perOp: Record<string, number> = {};
  let cases = 0;
  for (const engine of options.engines) {
    const report = await initEngine({ backend: engine, threads: 1 });
    for (const seed of options.seeds) {
      const c = caseFor(seed, options.ops);
      const p = prepare(c);
      cases++;
      perOp[c.op] = (perOp[c.op] ?? 0) + 1;
      const problems = await checkOnEngine(report.backend, engine, p, seed, options.finiteDifferences);
      if (problems.length === 0) continue;
      // One failure per case: a case is a mismatch however many of its checks fail.
      const failure = { ...c, engine, desc: p.desc, problem: problems.join('; ') };
      failures.push(failure);
      options.onFailure?.(failure);
    }
  }
  return { cases, failures, perOp };
}
