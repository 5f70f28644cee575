/**
 * Building a TensorFlow GraphDef in the JSON form of the TF.js graph-model format (`model.json`'s
 * `modelTopology`): nodes with TensorFlow op names, attributes as protobuf JSON (strings base64,
 * int64 as decimal strings), constants as `Const` nodes whose values go to the weight manifest.
 */
import { isBatchExpr, type Dim, type TConst, type TDtype, type TraceGraph, type TRef } from '../trace';

export type TfAttr =
  | { type: string }
  | { s: string }
  | { i: string }
  | { f: number }
  | { b: boolean }
  | { list: { i?: string[]; s?: string[]; f?: number[] } }
  | { shape: { dim: Array<{ size: string }>; unknownRank?: boolean } }
  | { tensor: { dtype: string; tensorShape: { dim: Array<{ size: string }> } } };

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  data: Float32Array | Int32Array | Uint8Array;
}

export const TF_DTYPE: Record<TDtype, string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };

export const tfType = (dtype: TDtype): TfAttr => ({ type: TF_DTYPE[dtype] });
export const tfString = (s: string): TfAttr => ({ s: Buffer.from(s, 'utf8').toString('base64') });
export const tfStrings = (s: string[]): TfAttr => ({ list: { s: s.map((x) => Buffer.from(x, 'utf8').toString('base64')) } });
export const tfInt = (i: number): TfAttr => ({ i: String(i) });
export const tfInts = (v: number[]): TfAttr => ({ list: { i: v.map(String) } });
export const tfFloat = (f: number): TfAttr => ({ f });
export const tfBool = (b: boolean): TfAttr => ({ b });
export const tfShape = (dims: Array<number>): TfAttr => ({ shape: { dim: dims.map((d) => ({ size: String(d) })) } });

export class TfGraphBuilder {
  readonly nodes: TfNode[] = [];
  readonly weights: WeightEntry[] = [];
  private readonly placed = new Map<number, string>();
  private readonly constNames = new Map<string, string>();
  private counter = 0;
  private batchName?: string;

  constructor(
    readonly graph: TraceGraph,
    readonly inputName: string,
  ) {}

  fresh(hint: string): string {
    return `${hint.replace(/[^A-Za-z0-9_]/g, '_')}_${this.counter++}`;
  }

  /** Add a node and return its name (its first output). */
  op(op: string, inputs: string[], attr: Record<string, TfAttr> = {}, name = this.fresh(op.toLowerCase())): string {
    this.nodes.push({ name, op, input: inputs, attr });
    return name;
  }

  constData(data: Float32Array | Int32Array | Uint8Array, dtype: TDtype, shape: number[], hint = 'const'): string {
    const name = this.fresh(hint);
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: TF_DTYPE[dtype], tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: tfType(dtype) } });
    this.weights.push({ name, shape, dtype, data });
    return name;
  }

  /** A small int32 constant (shapes, axes). Equal ones are shared. */
  int32s(values: number[], shape: number[] = [values.length]): string {
    const key = `i32[${shape}]${values}`;
    let name = this.constNames.get(key);
    if (!name) {
      name = this.constData(Int32Array.from(values), 'int32', shape, 'ints');
      this.constNames.set(key, name);
    }
    return name;
  }

  float(value: number): string {
    const key = `f32${value}`;
    let name = this.constNames.get(key);
    if (!name) {
      name = this.constData(Float32Array.of(value), 'float32', [], 'float');
      this.constNames.set(key, name);
    }
    return name;
  }

  /** A traced tensor's node name (constants are emitted on first use). */
  ref(r: TRef): string {
    if (r.kind === 'const') {
      const key = `c${r.id}`;
      let name = this.constNames.get(key);
      if (!name) {
        const c: TConst = this.graph.consts[r.id];
        name = this.constData(c.data, c.dtype, c.shape, 'w');
        this.constNames.set(key, name);
      }
      return name;
    }
    const name = this.placed.get(r.id);
    if (name === undefined) throw new Error(`export to TF.js: value #${r.id} is used before it is computed`);
    return name;
  }

  place(valueId: number, name: string): void {
    this.placed.set(valueId, name);
  }

  shape(r: TRef): Dim[] {
    return r.kind === 'const' ? this.graph.consts[r.id].shape : this.graph.values[r.id].shape;
  }

  dtype(r: TRef): TDtype {
    return r.kind === 'const' ? this.graph.consts[r.id].dtype : this.graph.values[r.id].dtype;
  }

  /** `[N]` as int32, read from the input's shape. */
  batch(): string {
    if (!this.batchName) {
      const shape = this.op('Shape', [this.inputName], { out_type: tfType('int32') });
      this.batchName = this.op('StridedSlice', [shape, this.int32s([0]), this.int32s([1]), this.int32s([1])], {
        begin_mask: tfInt(0),
        end_mask: tfInt(0),
        ellipsis_mask: tfInt(0),
        new_axis_mask: tfInt(0),
        shrink_axis_mask: tfInt(0),
      });
    }
    return this.batchName;
  }

  /** An int32 vector of `dims`, computed from the batch size when some entry depends on it. */
  ints(dims: readonly Dim[]): string {
    if (dims.every((d) => typeof d === 'number')) return this.int32s(dims as number[]);
    const parts: string[] = [];
    let run: number[] = [];
    for (const d of dims) {
      if (typeof d === 'number') {
        run.push(d);
        continue;
      }
      if (run.length) parts.push(this.int32s(run));
      run = [];
      let e = this.batch();
      if (d.a !== 1) e = this.op('Mul', [e, this.int32s([d.a])], { T: tfType('int32') });
      if (d.c !== 0) e = this.op('AddV2', [e, this.int32s([d.c])], { T: tfType('int32') });
      parts.push(e);
    }
    if (run.length) parts.push(this.int32s(run));
    return this.op('ConcatV2', [...parts, this.int32s([0], [])], { N: tfInt(parts.length), T: tfType('int32') });
  }

  /** A shape for Reshape: one batch-dependent entry becomes -1, more are computed. */
  reshapeTarget(dims: readonly Dim[]): string {
    const dynamic = dims.filter(isBatchExpr).length;
    if (dynamic === 1 && !dims.includes(-1)) return this.int32s(dims.map((d) => (isBatchExpr(d) ? -1 : (d as number))));
    return this.ints(dims);
  }
}
