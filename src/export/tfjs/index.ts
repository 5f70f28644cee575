/**
 * The TF.js graph-model export: `model.json` (topology, weight manifest, signature, metadata) and
 * weight shards of at most 4 MB, loadable by `tf.loadGraphModel` in browsers and Node.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../core/problems';
import { writeAtomic } from '../../rundir/atomic';
import type { Dim, TraceGraph } from '../trace';
import { TF_DTYPE, TfGraphBuilder, tfShape, tfType, type TfNode, type WeightEntry } from './builder';
import { TF_TRANSLATORS } from './kernels';
import { makeDirs } from '../../core/makeDirs';

export { TF_TRANSLATORS } from './kernels';

export const SHARD_BYTES = 4 * 1024 * 1024;

export interface TfjsModelJson {
  format: 'graph-model';
  generatedBy: string;
  convertedBy: string;
  modelTopology: { node: TfNode[]; library: Record<string, never>; versions: { producer: number } };
  weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype: string }> }>;
  signature: { inputs: Record<string, unknown>; outputs: Record<string, unknown> };
  userDefinedMetadata?: Record<string, unknown>;
}

const tensorShape = (dims: Dim[]) => ({ dim: dims.map((d) => ({ size: String(typeof d === 'number' ? d : -1) })) });

/** The graph as a TF.js graph model: the model.json object and the weights it lists. */
export function toTfjs(g: TraceGraph, options: { inputName?: string; producer: string; metadata?: Record<string, unknown> }): { json: TfjsModelJson; weights: WeightEntry[] } {
  const inputName = options.inputName ?? 'images';
  const b = new TfGraphBuilder(g, inputName);
  const inputShape = g.input.shape.map((d, i) => (typeof d !== 'number' || (g.dynamicSpatial && (i === 1 || i === 2)) ? -1 : d));
  b.nodes.push({ name: inputName, op: 'Placeholder', attr: { dtype: tfType(g.input.dtype), shape: tfShape(inputShape) } });
  b.place(0, inputName);
  const missing = [...new Set(g.nodes.map((n) => n.kernel).filter((k) => !TF_TRANSLATORS[k]))];
  if (missing.length) throw new UserError(`export to TF.js: the model uses TensorFlow.js kernel(s) ${missing.join(', ')}, which have no graph-model translation yet (src/export/tfjs/kernels.ts)`);
  for (const node of g.nodes) TF_TRANSLATORS[node.kernel](b, node);
  const outputs: Record<string, unknown> = {};
  for (const o of g.outputs) {
    const v = o.ref.kind === 'value' ? g.values[o.ref.id] : g.consts[o.ref.id];
    b.op('Identity', [b.ref(o.ref)], { T: tfType(v.dtype) }, o.name);
    outputs[o.name] = { name: `${o.name}:0`, dtype: TF_DTYPE[v.dtype], tensorShape: tensorShape(v.shape) };
  }
  const json: TfjsModelJson = {
    format: 'graph-model',
    generatedBy: options.producer,
    convertedBy: options.producer,
    modelTopology: { node: b.nodes, library: {}, versions: { producer: 1 } },
    weightsManifest: [],
    signature: {
      inputs: { [inputName]: { name: `${inputName}:0`, dtype: TF_DTYPE[g.input.dtype], tensorShape: { dim: inputShape.map((d) => ({ size: String(d) })) } } },
      outputs,
    },
    userDefinedMetadata: options.metadata,
  };
  return { json, weights: b.weights };
}

/** Write model.json and its shards into `dir` (each file atomically; model.json last). */
export function writeTfjs(dir: string, model: { json: TfjsModelJson; weights: WeightEntry[] }): string[] {
  makeDirs(dir);
  const bytes = model.weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  const total = bytes.reduce((n, b) => n + b.length, 0);
  const all = Buffer.concat(bytes, total);
  const shards = Math.max(1, Math.ceil(total / SHARD_BYTES));
  const paths = Array.from({ length: shards }, (_, i) => `group1-shard${i + 1}of${shards}.bin`);
  paths.forEach((p, i) => writeAtomic(path.join(dir, p), [all.subarray(i * SHARD_BYTES, Math.min(total, (i + 1) * SHARD_BYTES))]));
  const json = { ...model.json, weightsManifest: [{ paths, weights: model.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })) }] };
  writeAtomic(path.join(dir, 'model.json'), [JSON.stringify(json)]);
  // Shards of an earlier, larger export would otherwise linger.
  for (const f of fs.readdirSync(dir)) if (/^group1-shard\d+of\d+\.bin$/.test(f) && !paths.includes(f)) fs.rmSync(path.join(dir, f));
  return [path.join(dir, 'model.json'), ...paths.map((p) => path.join(dir, p))];
}
