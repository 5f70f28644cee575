/**
 * Recording the kernels of one forward pass.
 *
 * Every tfjs op ends in `ENGINE.runKernel(name, inputs, attrs)`. While a trace runs, that method
 * of the engine is wrapped and every kernel call is recorded with its attributes. A call is
 * *dynamic* when one of its inputs derives from the traced input; the others compute only from
 * weights (a batch norm's scale and shift, a class token tiled to the batch) and become
 * constants of the exported graph — unless their value changes with the batch size, in which
 * case the merge of two traces (symbolic.ts) keeps them as kernels. Tensors that no kernel made
 * (variables, scalars) are leaves. Kernels that call other kernels are recorded once, at the
 * outermost call.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/problems';
import type { TConst, TDtype, TValue } from './types';

export type RawRef = { kind: 'value'; id: number } | { kind: 'leaf'; id: number };

export interface RawNode {
  kernel: string;
  inputs: Array<{ name: string; ref: RawRef }>;
  outputs: number[];
  attrs: Record<string, unknown>;
  /** Depends on the traced input. */
  dynamic: boolean;
}

/** One trace, before its batch-dependent numbers are found. Value 0 is the input. */
export interface RawTrace {
  values: TValue[];
  /** Data of every non-dynamic value some kernel read (read then: tidies dispose them soon after). */
  folded: Map<number, TConst>;
  leaves: TConst[];
  nodes: RawNode[];
  outputs: Array<{ name: string; id: number }>;
}

interface EngineWithKernels {
  runKernel(name: string, inputs: Record<string, tf.Tensor | tf.Tensor[] | null | undefined>, attrs?: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

function dtypeOf(t: tf.Tensor, where: string): TDtype {
  if (t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool') return t.dtype;
  throw new UserError(`export: ${where} produces a ${t.dtype} tensor, which the exporters do not handle (float32, int32 and bool are)`);
}

function readConst(t: tf.Tensor, where: string): TConst {
  const dtype = dtypeOf(t, where);
  const data = t.dataSync();
  const copy = dtype === 'float32' ? Float32Array.from(data as Float32Array) : dtype === 'int32' ? Int32Array.from(data as Int32Array) : Uint8Array.from(data as Uint8Array);
  return { shape: [...t.shape], dtype, data: copy };
}

/** A deep copy of kernel attributes: plain data only (ops may reuse the arrays they pass). */
function copyAttrs(attrs: Record<string, unknown> | undefined, kernel: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined) continue;
    if (v instanceof tf.Tensor) throw new UserError(`export: attribute "${k}" of kernel ${kernel} is a tensor, which cannot be traced`);
    out[k] = v === null || typeof v !== 'object' ? v : JSON.parse(JSON.stringify(v));
  }
  return out;
}

let tracing = false;

/**
 * Run `fn(input)` and record its kernels. `fn` returns named outputs, each of which must depend
 * on the input. Synchronous; nothing else may use the engine meanwhile.
 */
export function traceOnce(fn: (x: tf.Tensor) => Record<string, tf.Tensor>, input: tf.Tensor): RawTrace {
  if (tracing) throw new Error('export: a trace is already running');
  const engine = tf.engine() as unknown as EngineWithKernels;
  const original = engine.runKernel;
  const valueOf = new Map<number, number>([[input.id, 0]]);
  const leafOf = new Map<number, number>();
  const trace: RawTrace = { values: [{ shape: [...input.shape], dtype: dtypeOf(input, 'the input') }], folded: new Map(), leaves: [], nodes: [], outputs: [] };
  const dynamic = new Set<number>([0]);

  const refOf = (t: tf.Tensor, kernel: string): RawRef => {
    const v = valueOf.get(t.id);
    if (v !== undefined) {
      if (!dynamic.has(v) && !trace.folded.has(v)) trace.folded.set(v, readConst(t, `kernel ${kernel}`));
      return { kind: 'value', id: v };
    }
    let leaf = leafOf.get(t.id);
    if (leaf === undefined) {
      leaf = trace.leaves.length;
      trace.leaves.push(readConst(t, `an input of kernel ${kernel}`));
      leafOf.set(t.id, leaf);
    }
    return { kind: 'leaf', id: leaf };
  };

  let depth = 0;
  const wrapped: EngineWithKernels['runKernel'] = function (this: unknown, name, inputs, attrs) {
    depth++;
    let out: tf.Tensor | tf.Tensor[];
    try {
      out = original.call(this, name, inputs, attrs);
    } finally {
      depth--;
    }
    if (depth > 0) return out;
    const named: Array<[string, tf.Tensor]> = [];
    for (const [k, v] of Object.entries(inputs ?? {})) {
      if (v == null) continue;
      if (Array.isArray(v)) v.forEach((t, i) => named.push([`${k}.${i}`, t]));
      else named.push([k, v]);
    }
    const refs = named.map(([n, t]) => ({ name: n, ref: refOf(t, name) }));
    const isDynamic = refs.some((r) => r.ref.kind === 'value' && dynamic.has(r.ref.id));
    const node: RawNode = { kernel: name, inputs: refs, outputs: [], attrs: copyAttrs(attrs, name), dynamic: isDynamic };
    for (const o of Array.isArray(out) ? out : [out]) {
      const id = trace.values.length;
      trace.values.push({ shape: [...o.shape], dtype: dtypeOf(o, `kernel ${name}`) });
      valueOf.set(o.id, id);
      if (isDynamic) dynamic.add(id);
      node.outputs.push(id);
    }
    trace.nodes.push(node);
    return out;
  };

  tracing = true;
  engine.runKernel = wrapped;
  try {
    const result = fn(input);
    for (const [name, t] of Object.entries(result)) {
      const id = valueOf.get(t.id);
      if (id === undefined || !dynamic.has(id)) throw new UserError(`export: output "${name}" does not depend on the input image (or was computed outside TensorFlow.js kernels)`);
      trace.outputs.push({ name, id });
    }
  } finally {
    engine.runKernel = original;
    tracing = false;
  }
  return trace;
}
