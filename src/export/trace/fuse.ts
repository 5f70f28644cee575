/**
 * Folding inference-time affine ops into the convolution or matrix product before them.
 *
 * In eval mode a batch norm is a per-channel scale and shift; after a convolution with constant
 * weights both fold into the weights and a bias (Jacob et al., Quantization and Training of Neural
 * Networks for Efficient Integer-Arithmetic-Only Inference, 2018, section 3.2), and a following
 * ReLU/ReLU6 becomes the fused activation. The result is tfjs's own fused kernels (FusedConv2D,
 * FusedDepthwiseConv2D, _FusedMatMul), which both exporters translate: one ONNX Conv with bias, one
 * TF.js `_FusedConv2D` that the wasm backend runs in one XNNPACK call.
 */
import type { TConst, TNode, TraceGraph, TRef } from './types';
import { graphIndex } from './optimize';

const ACTIVATIONS: Record<string, string> = { Relu: 'relu', Relu6: 'relu6', Sigmoid: 'sigmoid', Elu: 'elu' };

/** Per-channel constant data for `channels` channels (a scalar or shape [.., 1, C]), or undefined. */
function perChannel(c: TConst, channels: number): Float32Array | undefined {
  if (c.dtype !== 'float32') return undefined;
  const dims = c.shape;
  const last = dims.length ? dims[dims.length - 1] : 1;
  if (dims.slice(0, -1).some((d) => d !== 1)) return undefined;
  if (c.data.length === 1) return new Float32Array(channels).fill(c.data[0]);
  if (last !== channels) return undefined;
  return c.data as Float32Array;
}

interface Chain {
  scale?: Float32Array;
  shift?: Float32Array;
  activation?: string;
  alpha?: number;
  absorbed: TNode[];
  output: number;
}

/** The element-wise tail after `value`: [Multiply const] [Add const] [activation], each the only reader. */
function followChain(g: TraceGraph, value: number, channels: number, consumers: Map<number, TNode[]>, uses: Map<number, number>, outputs: Set<number>): Chain {
  const chain: Chain = { absorbed: [], output: value };
  const next = (kernel: string): { node: TNode; other?: TRef } | undefined => {
    if (outputs.has(chain.output) || uses.get(chain.output) !== 1) return undefined;
    const node = consumers.get(chain.output)?.[0];
    if (!node || node.kernel !== kernel) return undefined;
    const other = node.inputs.find((i) => !(i.ref.kind === 'value' && i.ref.id === chain.output))?.ref;
    return { node, other };
  };
  const affine = (kernel: 'Multiply' | 'Add'): boolean => {
    const step = next(kernel);
    if (!step?.other || step.other.kind !== 'const' || step.node.inputs.length !== 2) return false;
    const data = perChannel(g.consts[step.other.id], channels);
    // The output must keep the conv's shape (no broadcasting to a larger rank).
    const outRank = g.values[step.node.outputs[0]].shape.length;
    if (!data || g.consts[step.other.id].shape.length > outRank) return false;
    if (kernel === 'Multiply') {
      if (chain.shift) return false;
      chain.scale = data;
    } else {
      chain.shift = chain.shift ? chain.shift.map((v, i) => v + data[i]) : Float32Array.from(data);
    }
    chain.absorbed.push(step.node);
    chain.output = step.node.outputs[0];
    return true;
  };
  affine('Multiply');
  while (affine('Add'));
  for (const [kernel, act] of Object.entries(ACTIVATIONS)) {
    const step = next(kernel);
    if (!step) continue;
    chain.activation = act;
    chain.absorbed.push(step.node);
    chain.output = step.node.outputs[0];
    break;
  }
  return chain;
}

/** A new graph with convolution/matmul + scale/shift/activation tails fused. */
export function fuseAffine(g: TraceGraph): TraceGraph {
  const { uses } = graphIndex(g);
  const consumers = new Map<number, TNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i.ref.kind === 'value') consumers.set(i.ref.id, [...(consumers.get(i.ref.id) ?? []), n]);
  const outputs = new Set(g.outputs.flatMap((o) => (o.ref.kind === 'value' ? [o.ref.id] : [])));
  const consts = [...g.consts];
  const dropped = new Set<TNode>();
  const replaced = new Map<TNode, TNode>();
  const addConst = (data: Float32Array, shape: number[]): TRef => ({ kind: 'const', id: consts.push({ shape, dtype: 'float32', data }) - 1 });

  for (const node of g.nodes) {
    const isConv = node.kernel === 'Conv2D' || node.kernel === 'DepthwiseConv2dNative';
    const isMatMul = node.kernel === 'BatchMatMul';
    if (!isConv && !isMatMul) continue;
    const weightIn = node.inputs.find((i) => i.name === (isConv ? 'filter' : 'b'));
    if (!weightIn || weightIn.ref.kind !== 'const') continue;
    const w = consts[weightIn.ref.id];
    if (w.dtype !== 'float32') continue;
    if (isMatMul && (w.shape.length !== 2 || node.attrs.transposeA)) continue;
    const outShape = g.values[node.outputs[0]].shape;
    const channels = outShape[outShape.length - 1];
    if (typeof channels !== 'number') continue;
    const chain = followChain(g, node.outputs[0], channels, consumers, uses, outputs);
    if (!chain.absorbed.length) continue;

    let weights = w.data as Float32Array;
    if (chain.scale) {
      const s = chain.scale;
      weights = new Float32Array(weights.length);
      const src = w.data as Float32Array;
      if (isMatMul && node.attrs.transposeB) {
        // b is [out, in]: scale rows.
        const inner = w.shape[1];
        for (let i = 0; i < src.length; i++) weights[i] = src[i] * s[Math.floor(i / inner)];
      } else {
        // HWIO, depthwise HW(I*M) and [in, out]: the output channel is the fastest-varying index
        // (depthwise: in-channel i, multiplier j is output channel i * M + j, also flat order).
        for (let i = 0; i < src.length; i++) weights[i] = src[i] * s[i % channels];
      }
    }
    const bias = chain.shift ?? new Float32Array(channels);
    const fused: TNode = {
      kernel: isConv ? (node.kernel === 'Conv2D' ? 'FusedConv2D' : 'FusedDepthwiseConv2D') : '_FusedMatMul',
      inputs: [
        ...node.inputs.filter((i) => i !== weightIn),
        { name: weightIn.name, ref: chain.scale ? addConst(weights, [...w.shape]) : weightIn.ref },
        { name: 'bias', ref: addConst(bias, [channels]) },
      ],
      outputs: [chain.output],
      attrs: { ...node.attrs, activation: chain.activation ?? 'linear' },
    };
    replaced.set(node, fused);
    for (const n of chain.absorbed) dropped.add(n);
  }
  const nodes = g.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
  return { ...g, consts, nodes };
}
