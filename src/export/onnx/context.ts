/**
 * The state of one ONNX translation: the nodes and initializers written so far, where each traced
 * value lives (name and layout), and helpers that translators share (constants in a layout,
 * integer vectors that may depend on the batch size).
 */
import { OnnxType, type AttrValue, type ConstTensor, type OnnxNode } from '../../engine/ort/onnxModel';
import { UserError } from '../../core/problems';
import { isBatchExpr, type Dim, type TConst, type TDtype, type TNode, type TraceGraph, type TRef } from '../trace';
import { identity, isIdentity, transposeBetween, transposeData } from './layout';

export interface Placed {
  name: string;
  /** ONNX dim i = tfjs dim perm[i]; null: the tfjs layout. */
  perm: number[] | null;
}

export const ONNX_TYPE: Record<TDtype, OnnxType.FLOAT | OnnxType.INT32 | OnnxType.BOOL> = {
  float32: OnnxType.FLOAT,
  int32: OnnxType.INT32,
  bool: OnnxType.BOOL,
};

/** Int64 "as large as it gets" for open-ended slice ends. */
export const INT64_MAX = 2 ** 53 - 1;

export class OnnxContext {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: ConstTensor[] = [];
  private readonly placed = new Map<number, Placed>();
  private readonly layouts = new Map<string, string>();
  private readonly constNames = new Map<string, string>();
  private counter = 0;
  private batchName?: string;

  constructor(
    readonly graph: TraceGraph,
    /** Name of the graph input (value 0 is placed there by the caller). */
    readonly inputName: string,
  ) {}

  /** A fresh tensor name. */
  fresh(hint = 't'): string {
    return `${hint}_${this.counter++}`;
  }

  /** Add a node; returns its output names (fresh ones unless given). */
  add(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase())) : outputs;
    this.nodes.push({ op, inputs, outputs: outs, attrs });
    return outs;
  }

  /** Add a one-output node and return that output. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.add(op, inputs, attrs, 1)[0];
  }

  initializer(name: string, type: ConstTensor['type'], dims: number[], values: ConstTensor['values']): string {
    this.initializers.push({ name, type, dims, values });
    return name;
  }

  /** A small int64 constant (shapes, axes, pads). Equal ones are shared. */
  int64s(values: number[], dims: number[] = [values.length]): string {
    const key = `i64[${dims}]${values}`;
    let name = this.constNames.get(key);
    if (!name) {
      name = this.initializer(this.fresh('ints'), OnnxType.INT64, dims, values);
      this.constNames.set(key, name);
    }
    return name;
  }

  /** A float scalar (or small vector) constant. */
  floats(values: number[], dims: number[] = []): string {
    const key = `f32[${dims}]${values}`;
    let name = this.constNames.get(key);
    if (!name) {
      name = this.initializer(this.fresh('floats'), OnnxType.FLOAT, dims, Float32Array.from(values));
      this.constNames.set(key, name);
    }
    return name;
  }

  // --- traced values -------------------------------------------------------------------------

  place(valueId: number, p: Placed): void {
    this.placed.set(valueId, { name: p.name, perm: p.perm && !isIdentity(p.perm) ? p.perm : null });
  }

  /** Set output k of `node` (tfjs layout unless a perm is given). */
  out(node: TNode, name: string, perm: number[] | null = null, k = 0): void {
    this.place(node.outputs[k], { name, perm });
  }

  shape(r: TRef): Dim[] {
    return r.kind === 'const' ? this.graph.consts[r.id].shape : this.graph.values[r.id].shape;
  }

  rank(r: TRef): number {
    return this.shape(r).length;
  }

  dtype(r: TRef): TDtype {
    return r.kind === 'const' ? this.graph.consts[r.id].dtype : this.graph.values[r.id].dtype;
  }

  /** Static dims of a value, or an error naming the kernel (spatial sizes are always static). */
  staticShape(r: TRef, where: string): number[] {
    return this.shape(r).map((d, i) => {
      if (typeof d === 'number') return d;
      throw new UserError(`export to ONNX: ${where} needs dimension ${i} of its input to be fixed, but it depends on the batch size`);
    });
  }

  isConst(r: TRef): boolean {
    return r.kind === 'const';
  }

  constOf(r: TRef): TConst {
    if (r.kind !== 'const') throw new Error('constOf: not a constant');
    return this.graph.consts[r.id];
  }

  /** Where a value lives now (constants: their initializer, tfjs layout). */
  placedOf(r: TRef): Placed {
    if (r.kind === 'const') return { name: this.constInLayout(r, this.rank(r), null), perm: null };
    const p = this.placed.get(r.id);
    if (!p) throw new Error(`export to ONNX: value #${r.id} is used before it is computed`);
    return p;
  }

  /** The value laid out as `perm` (null: tfjs layout), transposing once and remembering it. */
  inLayout(r: TRef, perm: readonly number[] | null): string {
    const rank = this.rank(r);
    const want = perm && !isIdentity(perm) ? [...perm] : null;
    if (r.kind === 'const') return this.constInLayout(r, rank, want);
    const p = this.placedOf(r);
    if (JSON.stringify(p.perm) === JSON.stringify(want)) return p.name;
    const key = `${p.name}|${want}`;
    let name = this.layouts.get(key);
    if (!name) {
      name = this.op('Transpose', [p.name], { perm: transposeBetween(p.perm, want, rank) });
      this.layouts.set(key, name);
    }
    return name;
  }

  /** The value in the tfjs layout. */
  canonical(r: TRef): string {
    return this.inLayout(r, null);
  }

  /**
   * A constant broadcast-aligned to `rank` dims (leading 1s, numpy style) and laid out as `perm`:
   * the other operand of an element-wise op whose data operand is in that layout.
   */
  constInLayout(r: TRef, rank: number, perm: readonly number[] | null): string {
    const c = this.constOf(r);
    const key = `c${r.id}|${rank}|${perm}`;
    let name = this.constNames.get(key);
    if (name) return name;
    let shape = c.shape;
    let data = c.data;
    if (perm && !isIdentity(perm)) {
      shape = [...new Array<number>(rank - c.shape.length).fill(1), ...c.shape];
      ({ data, shape } = transposeData(data, shape, perm));
    }
    name = this.initializer(this.fresh('const'), ONNX_TYPE[c.dtype], shape, data);
    this.constNames.set(key, name);
    return name;
  }

  /** New constant data broadcast-aligned to `rank` and laid out as `perm` (per-channel scales and shifts). */
  dataInLayout(data: Float32Array | Int32Array | Uint8Array, dtype: TDtype, shape: number[], rank: number, perm: readonly number[] | null): string {
    let s = shape;
    let d = data;
    if (perm && !isIdentity(perm)) {
      s = [...new Array<number>(rank - shape.length).fill(1), ...shape];
      ({ data: d, shape: s } = transposeData(d, s, perm));
    }
    return this.initializer(this.fresh('const'), ONNX_TYPE[dtype], s, d);
  }

  /** A constant of new data (weights rearranged by a translator). */
  newConst(data: Float32Array | Int32Array | Uint8Array, dtype: TDtype, shape: number[], hint = 'w'): string {
    return this.initializer(this.fresh(hint), ONNX_TYPE[dtype], shape, data);
  }

  // --- the batch size ------------------------------------------------------------------------

  /** `[N]` as an int64 vector, read from the input's shape. */
  batch(): string {
    this.batchName ??= this.op('Shape', [this.inputName], { start: 0, end: 1 });
    return this.batchName;
  }

  /**
   * An int64 vector of `dims`: an initializer when all are fixed, otherwise computed from the
   * batch size at run time (`a * N + c` for each batch-dependent entry).
   */
  ints(dims: readonly Dim[]): string {
    if (dims.every((d) => typeof d === 'number')) return this.int64s(dims as number[]);
    const parts: string[] = [];
    let run: number[] = [];
    for (const d of dims) {
      if (typeof d === 'number') {
        run.push(d);
        continue;
      }
      if (run.length) parts.push(this.int64s(run));
      run = [];
      parts.push(this.batchExpr(d));
    }
    if (run.length) parts.push(this.int64s(run));
    return this.op('Concat', parts, { axis: 0 });
  }

  private batchExpr(d: { a: number; c: number }): string {
    const key = `batch*${d.a}+${d.c}`;
    let name = this.constNames.get(key);
    if (name) return name;
    name = this.batch();
    if (d.a !== 1) name = this.op('Mul', [name, this.int64s([d.a])]);
    if (d.c !== 0) name = this.op('Add', [name, this.int64s([d.c])]);
    this.constNames.set(key, name);
    return name;
  }

  /** True when some entry depends on the batch size. */
  static dynamic(dims: readonly unknown[]): boolean {
    return dims.some(isBatchExpr);
  }

  /** The identity layout of a rank, for translators. */
  static identity = identity;
}
