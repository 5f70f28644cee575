/**
 * Clean-ups of a traced graph that every exporter wants: identities dropped, repeated work merged
 * (a classifier exported with both its logits and its features runs the backbone once), and
 * kernels no output needs removed.
 */
import type { TNode, TraceGraph, TRef } from './types';

function refKey(r: TRef): string {
  return `${r.kind[0]}${r.id}`;
}

function sameShape(a: TraceGraph['values'][number], b: TraceGraph['values'][number]): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => JSON.stringify(d) === JSON.stringify(b.shape[i]));
}

/** A new graph with identities removed, duplicate kernels merged and dead kernels dropped. */
export function optimizeTrace(g: TraceGraph): TraceGraph {
  const alias = new Map<number, TRef>();
  const resolve = (r: TRef): TRef => (r.kind === 'value' && alias.has(r.id) ? alias.get(r.id)! : r);
  const seen = new Map<string, number[]>();
  const kept: TNode[] = [];
  for (const node of g.nodes) {
    const inputs = node.inputs.map((i) => ({ name: i.name, ref: resolve(i.ref) }));
    const first = inputs[0]?.ref;
    const isNoOp =
      (node.kernel === 'Identity' && inputs.length === 1) ||
      (node.kernel === 'Cast' && first?.kind === 'value' && g.values[first.id].dtype === node.attrs.dtype) ||
      (node.kernel === 'Reshape' && first?.kind === 'value' && sameShape(g.values[first.id], g.values[node.outputs[0]]));
    if (isNoOp && first) {
      alias.set(node.outputs[0], first);
      continue;
    }
    const key = `${node.kernel}|${inputs.map((i) => `${i.name}=${refKey(i.ref)}`).join(',')}|${JSON.stringify(node.attrs)}`;
    const previous = seen.get(key);
    if (previous) {
      node.outputs.forEach((o, i) => alias.set(o, { kind: 'value', id: previous[i] }));
      continue;
    }
    seen.set(key, node.outputs);
    kept.push({ ...node, inputs });
  }
  const outputs = g.outputs.map((o) => ({ name: o.name, ref: resolve(o.ref) }));

  // Dead kernels: walk back from the outputs.
  const needed = new Set<number>();
  for (const o of outputs) if (o.ref.kind === 'value') needed.add(o.ref.id);
  const live: TNode[] = [];
  for (let i = kept.length - 1; i >= 0; i--) {
    const n = kept[i];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    live.push(n);
    for (const inp of n.inputs) if (inp.ref.kind === 'value') needed.add(inp.ref.id);
  }
  live.reverse();
  return { ...g, nodes: live, outputs };
}

/** How many kernels read each value, and which kernel made it. */
export function graphIndex(g: TraceGraph): { producer: Map<number, TNode>; uses: Map<number, number> } {
  const producer = new Map<number, TNode>();
  const uses = new Map<number, number>();
  for (const n of g.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) if (i.ref.kind === 'value') uses.set(i.ref.id, (uses.get(i.ref.id) ?? 0) + 1);
  }
  for (const o of g.outputs) if (o.ref.kind === 'value') uses.set(o.ref.id, (uses.get(o.ref.id) ?? 0) + 1);
  return { producer, uses };
}
