/**
 * A minimal ONNX model writer: enough of `onnx.proto` (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto) to describe the one-op graphs the engine hands to
 * onnxruntime-node. Protobuf wire format written by hand, so the engine needs no schema at run time.
 *
 * Field numbers follow onnx/onnx.proto3 (IR version 8, opset 17).
 */

export const enum OnnxType {
  FLOAT = 1,
  UINT8 = 2,
  INT32 = 6,
  INT64 = 7,
  BOOL = 9,
}

export type AttrValue = number | number[] | string | { floats: number[] } | { float: number } | { tensor: ConstTensor };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface ValueInfo {
  name: string;
  type: OnnxType;
  /** Fixed dimensions; a string names a symbolic dimension. */
  shape: Array<number | string>;
}

export interface ConstTensor {
  name: string;
  type: OnnxType.FLOAT | OnnxType.INT64 | OnnxType.INT32 | OnnxType.BOOL | OnnxType.UINT8;
  dims: number[];
  /** Plain numbers, or a typed array of the tensor's type (written as raw little-endian bytes: large weights). */
  values: number[] | Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: ConstTensor[];
  opset?: number;
  /** ModelProto.metadata_props: free-form key/value strings (exports keep their class names here). */
  metadata?: Record<string, string>;
  /** ModelProto.producer_version. */
  producerVersion?: string;
  /** ModelProto.doc_string. */
  docString?: string;
}

/** Growable byte buffer with protobuf primitives. */
class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  varint(value: number | bigint): void {
    // int64 fields: negative numbers take ten bytes (two's complement), as protobuf requires.
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, v, true);
    this.len += 4;
  }

  message(field: number, write: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    write(inner);
    this.bytes(field, inner.finish());
  }

  packedInts(field: number, values: number[]): void {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    this.bytes(field, inner.finish());
  }

  packedFloats(field: number, values: number[]): void {
    const data = new Float32Array(values);
    this.bytes(field, new Uint8Array(data.buffer));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_TENSOR = 4;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function writeTensor(w: ProtoWriter, t: ConstTensor): void {
  w.packedInts(1, t.dims);
  w.int(2, t.type);
  if (!Array.isArray(t.values)) w.bytes(9, new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
  else if (t.type === OnnxType.FLOAT) w.packedFloats(4, t.values);
  else if (t.type === OnnxType.INT64) w.packedInts(7, t.values);
  else w.packedInts(5, t.values);
  w.string(8, t.name);
}

function writeAttr(w: ProtoWriter, name: string, value: AttrValue): void {
  w.string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`ONNX attribute ${name}: integer expected, got ${value} (use { float } for floats)`);
    w.int(20, ATTR_INT);
    w.int(3, value);
  } else if (typeof value === 'string') {
    w.int(20, ATTR_STRING);
    w.string(4, value);
  } else if (Array.isArray(value)) {
    w.int(20, ATTR_INTS);
    w.packedInts(8, value);
  } else if ('floats' in value) {
    w.int(20, ATTR_FLOATS);
    w.packedFloats(7, value.floats);
  } else if ('float' in value) {
    w.int(20, ATTR_FLOAT);
    w.float(2, value.float);
  } else {
    w.int(20, ATTR_TENSOR);
    w.message(5, (t) => writeTensor(t, value.tensor));
  }
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.type);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serialise a graph as an ONNX ModelProto (IR version 8, default-domain opset 17 unless given). */
export function encodeModel(graph: OnnxGraph): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, 8);
  w.string(2, 'cv-workbench');
  if (graph.producerVersion) w.string(3, graph.producerVersion);
  if (graph.docString) w.string(6, graph.docString);
  w.message(7, (g) => {
    graph.nodes.forEach((node, i) =>
      g.message(1, (n) => {
        for (const input of node.inputs) n.string(1, input);
        for (const output of node.outputs) n.string(2, output);
        n.string(3, `${node.op}_${i}`);
        n.string(4, node.op);
        for (const [name, value] of Object.entries(node.attrs ?? {})) n.message(5, (a) => writeAttr(a, name, value));
        if (node.domain) n.string(7, node.domain);
      }),
    );
    g.string(2, graph.name);
    for (const init of graph.initializers ?? []) g.message(5, (t) => writeTensor(t, init));
    for (const input of graph.inputs) g.message(11, (v) => writeValueInfo(v, input));
    for (const output of graph.outputs) g.message(12, (v) => writeValueInfo(v, output));
  });
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, graph.opset ?? 17);
  });
  // Every other domain the nodes use (onnxruntime's contrib ops: com.microsoft, com.microsoft.nchwc) at version 1.
  for (const domain of new Set(graph.nodes.flatMap((n) => (n.domain ? [n.domain] : [])))) {
    w.message(8, (o) => {
      o.string(1, domain);
      o.int(2, 1);
    });
  }
  for (const [key, value] of Object.entries(graph.metadata ?? {})) {
    w.message(14, (m) => {
      m.string(1, key);
      m.string(2, value);
    });
  }
  return w.finish();
}
