/**
 * A traced graph as an ONNX model (opset 17, IR 8): every kernel through its translator, then a
 * few clean-ups (a -inf Pad before a MaxPool becomes the pool's own padding; nodes and
 * initializers no output needs are dropped).
 */
import { UserError } from '../../core/problems';
import { OnnxType, type OnnxGraph, type OnnxNode, type ValueInfo } from '../../engine/ort/onnxModel';
import { dimToString, type Dim, type TraceGraph } from '../trace';
import { OnnxContext, ONNX_TYPE } from './context';
import { NCHW } from './layout';
import type { OnnxTranslator } from './kernels/common';
import { ELEMENTWISE } from './kernels/elementwise';
import { CONV } from './kernels/conv';
import { MATMUL } from './kernels/matmul';
import { SHAPE } from './kernels/shape';
import { REDUCE } from './kernels/reduce';
import { IMAGE } from './kernels/image';

export const ONNX_OPSET = 17;

/** Every tfjs kernel the ONNX exporter translates. */
export const ONNX_TRANSLATORS: Record<string, OnnxTranslator> = { ...ELEMENTWISE, ...CONV, ...MATMUL, ...SHAPE, ...REDUCE, ...IMAGE };

export interface OnnxExportOptions {
  /** Layout of the graph input: NCHW (PyTorch's, the default) or NHWC (TensorFlow's). */
  layout?: 'NCHW' | 'NHWC';
  inputName?: string;
  metadata?: Record<string, string>;
  producerVersion?: string;
  docString?: string;
}

function dimParam(d: Dim): number | string {
  return typeof d === 'number' ? d : dimToString(d);
}

/** ONNX input dims for the traced NHWC input shape. */
function inputDims(g: TraceGraph, layout: 'NCHW' | 'NHWC'): Array<number | string> {
  const [n, h, w, c] = g.input.shape;
  const hh = g.dynamicSpatial ? 'height' : dimParam(h);
  const ww = g.dynamicSpatial ? 'width' : dimParam(w);
  return layout === 'NCHW' ? [dimParam(n), dimParam(c), hh, ww] : [dimParam(n), hh, ww, dimParam(c)];
}

/** Translate a traced graph to an ONNX graph. */
export function toOnnx(g: TraceGraph, options: OnnxExportOptions = {}): OnnxGraph {
  const layout = options.layout ?? 'NCHW';
  const inputName = options.inputName ?? 'images';
  if (g.input.shape.length !== 4) throw new UserError(`export to ONNX: the model input must be a batch of images (rank 4), got rank ${g.input.shape.length}`);
  const ctx = new OnnxContext(g, inputName);
  ctx.place(0, { name: inputName, perm: layout === 'NCHW' ? [...NCHW] : null });
  const missing = [...new Set(g.nodes.map((n) => n.kernel).filter((k) => !ONNX_TRANSLATORS[k]))];
  if (missing.length) {
    throw new UserError(`export to ONNX: the model uses TensorFlow.js kernel(s) ${missing.join(', ')}, which have no ONNX translation yet (src/export/onnx/kernels/)`);
  }
  for (const node of g.nodes) ONNX_TRANSLATORS[node.kernel](ctx, node);
  const outputs: ValueInfo[] = [];
  for (const o of g.outputs) {
    const name = ctx.canonical(o.ref);
    ctx.add('Identity', [name], {}, [o.name]);
    const v = o.ref.kind === 'value' ? g.values[o.ref.id] : g.consts[o.ref.id];
    outputs.push({ name: o.name, type: ONNX_TYPE[v.dtype], shape: v.shape.map(dimParam) });
  }
  const graph: OnnxGraph = {
    name: 'cvw_export',
    nodes: ctx.nodes,
    inputs: [{ name: inputName, type: ONNX_TYPE[g.input.dtype], shape: inputDims(g, layout) }],
    outputs,
    initializers: ctx.initializers,
    opset: ONNX_OPSET,
    metadata: options.metadata,
    producerVersion: options.producerVersion,
    docString: options.docString,
  };
  fusePadIntoMaxPool(graph);
  pruneGraph(graph);
  return graph;
}

/** `Pad(x, -inf-ish) -> MaxPool` (PyTorch-style padded max-pool in tfjs) as one MaxPool with pads. */
function fusePadIntoMaxPool(g: OnnxGraph): void {
  const producer = new Map<string, OnnxNode>();
  const uses = new Map<string, number>();
  for (const n of g.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  const inits = new Map((g.initializers ?? []).map((t) => [t.name, t]));
  for (const pool of g.nodes) {
    if (pool.op !== 'MaxPool') continue;
    const pad = producer.get(pool.inputs[0]);
    if (!pad || pad.op !== 'Pad' || uses.get(pad.outputs[0]) !== 1 || (pad.attrs?.mode ?? 'constant') !== 'constant') continue;
    const pads = inits.get(pad.inputs[1]);
    const value = inits.get(pad.inputs[2] ?? '');
    if (!pads || !value || value.type !== OnnxType.FLOAT || !(Number(value.values[0]) <= -3e38)) continue;
    const p = Array.from(pads.values as number[]).map(Number);
    // NCHW: only the spatial dims (2, 3) may be padded.
    if (p.length !== 8 || p[0] || p[1] || p[4] || p[5]) continue;
    const old = (pool.attrs?.pads as number[] | undefined) ?? [0, 0, 0, 0];
    pool.attrs = { ...pool.attrs, pads: [old[0] + p[2], old[1] + p[3], old[2] + p[6], old[3] + p[7]] };
    pool.inputs = [pad.inputs[0], ...pool.inputs.slice(1)];
  }
}

/** Drop nodes whose outputs nothing reads, and initializers no node reads. */
function pruneGraph(g: OnnxGraph): void {
  const needed = new Set(g.outputs.map((o) => o.name));
  const kept: OnnxNode[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const inp of n.inputs) if (inp) needed.add(inp);
  }
  g.nodes = kept.reverse();
  g.initializers = (g.initializers ?? []).filter((t) => needed.has(t.name));
}
