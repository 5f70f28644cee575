/**
 * From raw traces to a TraceGraph, finding what grows with the batch.
 *
 * The same forward pass traced at batch sizes 2 and 3 records the same kernels; every integer
 * that differs between the two (a shape, a reshape target, tile repetitions, a slice size) is a
 * linear function of the batch size, `a * N + c`. A weight-only value that differs (a class
 * token tiled to the batch) stays in the graph as the kernels that made it. Anything else that
 * differs — kernels, weights — means the model cannot be exported with a dynamic batch, and the
 * error says why.
 */
import type { RawRef, RawTrace } from './tracer';
import type { BatchExpr, Dim, TConst, TNode, TraceGraph, TRef } from './types';

/** The two batch sizes traced. Not 1: ops special-case a batch of one (squeezes, broadcasts). */
export const TRACE_BATCHES = [2, 3] as const;

export class TraceMismatch extends Error {}

function fit(v2: number, v3: number): Dim {
  const a = v3 - v2;
  const e: BatchExpr = { a, c: v2 - 2 * a };
  return e;
}

/** Merge two values traced at batch 2 and 3, turning differing integers into batch expressions. */
function mergeValue(x: unknown, y: unknown, where: string): unknown {
  if (typeof x === 'number' && typeof y === 'number') {
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return x;
    if (Number.isInteger(x) && Number.isInteger(y)) return fit(x, y);
    throw new TraceMismatch(`${where}: ${x} at batch ${TRACE_BATCHES[0]}, ${y} at batch ${TRACE_BATCHES[1]}`);
  }
  if (Array.isArray(x) && Array.isArray(y)) {
    if (x.length !== y.length) throw new TraceMismatch(`${where}: ${x.length} entries at batch ${TRACE_BATCHES[0]}, ${y.length} at ${TRACE_BATCHES[1]}`);
    return x.map((v, i) => mergeValue(v, y[i], `${where}[${i}]`));
  }
  if (x && y && typeof x === 'object' && typeof y === 'object') {
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = mergeValue((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${where}.${k}`);
    return out;
  }
  if (x !== y) throw new TraceMismatch(`${where}: ${JSON.stringify(x)} at batch ${TRACE_BATCHES[0]}, ${JSON.stringify(y)} at ${TRACE_BATCHES[1]}`);
  return x;
}

function sameConst(a: TConst, b: TConst): boolean {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) return false;
  return true;
}

/** A cheap content key (FNV-1a over the bytes) to find equal constants. */
function constKey(c: TConst): string {
  const bytes = new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return `${c.dtype}[${c.shape}]${h >>> 0}`;
}

const sameRef = (a: RawRef, b: RawRef) => a.kind === b.kind && a.id === b.id;

/**
 * The graph made of the kernels in `keep` (by node index): inputs from outside become constants
 * (leaves, or the data of weight-only values).
 */
function buildGraph(t: RawTrace, keep: Set<number>, attrsOf: (i: number) => Record<string, unknown>, shapeOf: (v: number) => Dim[], dynamicBatch: boolean, dynamicSpatial: boolean): TraceGraph {
  const consts: TConst[] = [];
  const byContent = new Map<string, number[]>();
  // Equal constants become one, so that repeated work on them can be merged (two forward passes
  // of a backbone compute the same batch-norm scales twice).
  const addConst = (c: TConst): number => {
    const key = constKey(c);
    const candidates = byContent.get(key) ?? [];
    const same = candidates.find((i) => sameConst(consts[i], c));
    if (same !== undefined) return same;
    const id = consts.push(c) - 1;
    byContent.set(key, [...candidates, id]);
    return id;
  };
  const leafConst = new Map<number, number>();
  const foldedConst = new Map<number, number>();
  const produced = new Set<number>([0]);
  const nodes: TNode[] = [];
  const toRef = (r: RawRef, where: string): TRef => {
    if (r.kind === 'leaf') {
      let c = leafConst.get(r.id);
      if (c === undefined) {
        c = addConst(t.leaves[r.id]);
        leafConst.set(r.id, c);
      }
      return { kind: 'const', id: c };
    }
    if (produced.has(r.id)) return { kind: 'value', id: r.id };
    let c = foldedConst.get(r.id);
    if (c === undefined) {
      const data = t.folded.get(r.id);
      if (!data) throw new Error(`export: no data recorded for value #${r.id} read by ${where}`);
      c = addConst(data);
      foldedConst.set(r.id, c);
    }
    return { kind: 'const', id: c };
  };
  t.nodes.forEach((n, i) => {
    if (!keep.has(i)) return;
    nodes.push({ kernel: n.kernel, inputs: n.inputs.map((inp) => ({ name: inp.name, ref: toRef(inp.ref, n.kernel) })), outputs: n.outputs, attrs: attrsOf(i) });
    for (const o of n.outputs) produced.add(o);
  });
  const values = t.values.map((v, i) => ({ dtype: v.dtype, shape: shapeOf(i) }));
  return { input: values[0], values, consts, nodes, outputs: t.outputs.map((o) => ({ name: o.name, ref: { kind: 'value', id: o.id } as TRef })), dynamicBatch, dynamicSpatial };
}

function dynamicNodes(t: RawTrace): Set<number> {
  const keep = new Set<number>();
  t.nodes.forEach((n, i) => n.dynamic && keep.add(i));
  return keep;
}

/** One graph with a symbolic batch from traces at batch 2 and 3 (throws TraceMismatch when they differ otherwise). */
export function mergeTraces(t2: RawTrace, t3: RawTrace, dynamicSpatial: boolean): TraceGraph {
  if (t2.nodes.length !== t3.nodes.length) throw new TraceMismatch(`the forward pass runs ${t2.nodes.length} kernels at batch 2 but ${t3.nodes.length} at batch 3`);
  if (t2.leaves.length !== t3.leaves.length) throw new TraceMismatch(`the forward pass reads ${t2.leaves.length} constant tensors at batch 2 but ${t3.leaves.length} at batch 3`);
  t2.leaves.forEach((c, i) => {
    if (!sameConst(c, t3.leaves[i])) throw new TraceMismatch(`a constant tensor of shape [${c.shape}] differs between batch 2 and 3 (made outside TensorFlow.js kernels from the batch size, e.g. with tf.tensor or tf.zeros)`);
  });
  const attrs = t2.nodes.map((n, i) => {
    const m = t3.nodes[i];
    const where = `kernel #${i} (${n.kernel})`;
    if (n.kernel !== m.kernel || n.dynamic !== m.dynamic) throw new TraceMismatch(`${where} is ${m.kernel} at batch 3`);
    if (n.inputs.length !== m.inputs.length || n.inputs.some((inp, j) => inp.name !== m.inputs[j].name || !sameRef(inp.ref, m.inputs[j].ref))) {
      throw new TraceMismatch(`${where} takes different inputs at batch 2 and 3`);
    }
    if (n.outputs.length !== m.outputs.length || n.outputs.some((o, j) => o !== m.outputs[j])) throw new TraceMismatch(`${where} has different outputs at batch 2 and 3`);
    return mergeValue(n.attrs, m.attrs, `${where} attributes`) as Record<string, unknown>;
  });
  const shapes = t2.values.map((v, i) => mergeValue(v.shape, t3.values[i].shape, `shape of value #${i}`) as Dim[]);
  if (t2.outputs.length !== t3.outputs.length || t2.outputs.some((o, i) => o.name !== t3.outputs[i].name || o.id !== t3.outputs[i].id)) {
    throw new TraceMismatch('the outputs differ between batch 2 and 3');
  }
  const batchDim = shapes[0][0];
  if (typeof batchDim === 'number' || batchDim.a !== 1 || batchDim.c !== 0) throw new TraceMismatch('the first input dimension is not the batch');

  // Keep the weight-only kernels whose results change with the batch, back to invariant inputs.
  const producer = new Map<number, number>();
  t2.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
  const keep = dynamicNodes(t2);
  const pending = [...keep];
  const varies = (v: number) => {
    const a = t2.folded.get(v);
    const b = t3.folded.get(v);
    return !a || !b || !sameConst(a, b);
  };
  while (pending.length) {
    const i = pending.pop()!;
    for (const inp of t2.nodes[i].inputs) {
      if (inp.ref.kind !== 'value' || inp.ref.id === 0) continue;
      const p = producer.get(inp.ref.id)!;
      if (keep.has(p) || !varies(inp.ref.id)) continue;
      keep.add(p);
      pending.push(p);
    }
  }
  return buildGraph(t2, keep, (i) => attrs[i], (v) => shapes[v], true, dynamicSpatial);
}

/** A graph of one trace at a fixed batch size. */
export function fixedGraph(t: RawTrace, dynamicSpatial: boolean): TraceGraph {
  return buildGraph(t, dynamicNodes(t), (i) => t.nodes[i].attrs, (v) => t.values[v].shape, false, dynamicSpatial);
}
