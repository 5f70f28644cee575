/**
 * The traced graph: the TensorFlow.js kernels one inference forward pass ran, with the tensors
 * they passed between them. It is the single intermediate form both exporters (ONNX, TF.js graph
 * model) translate from, so any model made of tfjs ops exports without per-layer code.
 *
 * Values are numbered: the graph input is value 0, kernel outputs follow in execution order.
 * Constants (weights, and anything computed only from weights, such as folded batch-norm scales)
 * live apart with their data.
 */

/**
 * A size that grows with the batch: `a * N + c` for a batch of N. Found by tracing twice with
 * different batch sizes (a reshape to `[b * tokens, dim]` has a = tokens, c = 0).
 */
export interface BatchExpr {
  a: number;
  c: number;
}

/** A dimension or integer attribute: fixed, or depending on the batch size. */
export type Dim = number | BatchExpr;

export function isBatchExpr(d: unknown): d is BatchExpr {
  return typeof d === 'object' && d !== null && !Array.isArray(d) && typeof (d as BatchExpr).a === 'number' && typeof (d as BatchExpr).c === 'number' && Object.keys(d).length === 2;
}

export type TDtype = 'float32' | 'int32' | 'bool';

export interface TValue {
  shape: Dim[];
  dtype: TDtype;
}

export interface TConst {
  shape: number[];
  dtype: TDtype;
  data: Float32Array | Int32Array | Uint8Array;
}

/** A reference to a tensor: a traced value or a constant. */
export type TRef = { kind: 'value'; id: number } | { kind: 'const'; id: number };

/** One kernel call. `inputs` keeps the kernel's input names; absent optional inputs are left out. */
export interface TNode {
  kernel: string;
  inputs: Array<{ name: string; ref: TRef }>;
  outputs: number[];
  /** The kernel's attributes, with batch-dependent integers as BatchExpr. */
  attrs: Record<string, unknown>;
}

export interface TraceGraph {
  /** Shape of the input; value 0. */
  input: TValue;
  values: TValue[];
  consts: TConst[];
  nodes: TNode[];
  /** Named outputs, in order. */
  outputs: Array<{ name: string; ref: TRef }>;
  /** True when the batch dimension is symbolic (traced at two batch sizes). */
  dynamicBatch: boolean;
  /**
   * True when the input's height and width may differ from the traced ones (in-graph
   * pre-processing resizes any image first, so nothing else depends on them).
   */
  dynamicSpatial: boolean;
}

export function dimToString(d: Dim): string {
  if (typeof d === 'number') return String(d);
  const n = d.a === 1 ? 'N' : `${d.a}N`;
  return d.c === 0 ? n : `${n}${d.c > 0 ? '+' : ''}${d.c}`;
}

/** The value of a dimension at batch size n. */
export function evalDim(d: Dim, n: number): number {
  return typeof d === 'number' ? d : d.a * n + d.c;
}
