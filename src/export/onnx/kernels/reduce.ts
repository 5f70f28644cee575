/**
 * Reductions over axes (mean, sum, max, min, product), arg-max/min, softmax and top-k. They follow
 * their input's layout: a global average pool over tfjs axes [1, 2] of an NCHW value reduces ONNX
 * axes [2, 3]. In opset 17 only ReduceSum takes its axes as an input; the others as an attribute.
 */
import { UserError } from '../../../core/problems';
import type { OnnxContext } from '../context';
import { OnnxType } from '../../../engine/ort/onnxModel';
import { afterRemovingAxes, onnxAxis } from '../layout';
import { attr, nth, type OnnxTranslator } from './common';

function axesOf(node: { attrs: Record<string, unknown> }, rank: number): number[] {
  const raw = (node.attrs.axis ?? node.attrs.reductionIndices) as number | number[] | null | undefined;
  const list = raw === undefined || raw === null ? Array.from({ length: rank }, (_, i) => i) : typeof raw === 'number' ? [raw] : raw;
  return list.map((a) => (a < 0 ? a + rank : a));
}

function reduce(op: 'ReduceMean' | 'ReduceSum' | 'ReduceMax' | 'ReduceMin' | 'ReduceProd'): OnnxTranslator {
  return (ctx, node) => {
    const x = nth(node, 0);
    const rank = ctx.rank(x);
    const axes = axesOf(node, rank);
    const keep = !!attr(node, 'keepDims');
    const p = ctx.isConst(x) ? { name: ctx.canonical(x), perm: null } : ctx.placedOf(x);
    const onnxAxes = axes.map((a) => onnxAxis(p.perm, rank, a)).sort((a, b) => a - b);
    const y =
      op === 'ReduceSum'
        ? ctx.op(op, [p.name, ctx.int64s(onnxAxes)], { keepdims: keep ? 1 : 0 })
        : ctx.op(op, [p.name], { axes: onnxAxes, keepdims: keep ? 1 : 0 });
    ctx.out(node, y, keep ? p.perm : afterRemovingAxes(p.perm, rank, axes));
  };
}

function argReduce(op: 'ArgMax' | 'ArgMin'): OnnxTranslator {
  return (ctx, node) => {
    const x = nth(node, 0);
    const rank = ctx.rank(x);
    const [axis] = axesOf(node, rank);
    const p = ctx.placedOf(x);
    const idx = ctx.op(op, [p.name], { axis: onnxAxis(p.perm, rank, axis), keepdims: 0 });
    // tfjs gives int32 indices, ONNX int64.
    ctx.out(node, ctx.op('Cast', [idx], { to: OnnxType.INT32 }), afterRemovingAxes(p.perm, rank, [axis]));
  };
}

function softmax(op: 'Softmax' | 'LogSoftmax'): OnnxTranslator {
  return (ctx, node) => {
    const x = nth(node, 0);
    const rank = ctx.rank(x);
    const raw = (node.attrs.dim ?? node.attrs.axis ?? -1) as number;
    const p = ctx.placedOf(x);
    ctx.out(node, ctx.op(op, [p.name], { axis: onnxAxis(p.perm, rank, raw) }), p.perm);
  };
}

const topK: OnnxTranslator = (ctx: OnnxContext, node) => {
  const k = attr<number>(node, 'k');
  if (attr<boolean>(node, 'sorted') === false) throw new UserError('export to ONNX: unsorted top-k is not supported');
  const [values, indices] = ctx.add('TopK', [ctx.canonical(nth(node, 0)), ctx.int64s([k])], { axis: -1, largest: 1, sorted: 1 }, 2);
  ctx.out(node, values, null, 0);
  ctx.out(node, ctx.op('Cast', [indices], { to: OnnxType.INT32 }), null, 1);
};

export const REDUCE: Record<string, OnnxTranslator> = {
  Mean: reduce('ReduceMean'),
  Sum: reduce('ReduceSum'),
  Max: reduce('ReduceMax'),
  Min: reduce('ReduceMin'),
  Prod: reduce('ReduceProd'),
  ArgMax: argReduce('ArgMax'),
  ArgMin: argReduce('ArgMin'),
  Softmax: softmax('Softmax'),
  LogSoftmax: softmax('LogSoftmax'),
  TopK: topK,
};
