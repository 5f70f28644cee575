/**
 * Kernels that move data around: reshape, transpose, concatenation, stacking, splitting, slicing,
 * tiling, padding, gathering. Sizes that grow with the batch become int64 vectors computed from the
 * input's batch size. Layout-aware where it is cheap (transpose is free, concat/slice/pad/split follow
 * their input's layout); the rest work in the tfjs layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../../core/problems';
import { isBatchExpr, type Dim, type TNode, type TRef } from '../../trace';
import { INT64_MAX, ONNX_TYPE, type OnnxContext } from '../context';
import { afterRemovingAxes, afterTranspose, onnxAxis } from '../layout';
import { attr, input, nth, type OnnxTranslator } from './common';

function addDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  const x = typeof a === 'number' ? { a: 0, c: a } : a;
  const y = typeof b === 'number' ? { a: 0, c: b } : b;
  const s = { a: x.a + y.a, c: x.c + y.c };
  return s.a === 0 ? s.c : s;
}

const sameDim = (a: Dim, b: Dim) => JSON.stringify(a) === JSON.stringify(b);

function outRank(ctx: OnnxContext, node: TNode, k = 0): number {
  return ctx.rank({ kind: 'value', id: node.outputs[k] });
}

/** The data operand where it is, or a constant in the tfjs layout. */
function placed(ctx: OnnxContext, r: TRef): { name: string; perm: number[] | null } {
  return ctx.placedOf(r);
}

const reshape: OnnxTranslator = (ctx, node) => {
  const x = nth(node, 0);
  let shape = attr<Dim[]>(node, 'shape');
  // One batch-dependent entry and no -1: let ONNX infer it, keeping the shape a constant.
  const dynamic = shape.filter(isBatchExpr).length;
  if (dynamic === 1 && !shape.includes(-1)) shape = shape.map((d) => (isBatchExpr(d) ? -1 : d));
  ctx.out(node, ctx.op('Reshape', [ctx.canonical(x), ctx.ints(shape)]));
};

const expandDims: OnnxTranslator = (ctx, node) => {
  const rank = outRank(ctx, node);
  let dim = attr<number>(node, 'dim');
  if (dim < 0) dim += rank;
  ctx.out(node, ctx.op('Unsqueeze', [ctx.canonical(nth(node, 0)), ctx.int64s([dim])]));
};

const transpose: OnnxTranslator = (ctx, node) => {
  const x = nth(node, 0);
  const perm = attr<number[]>(node, 'perm');
  if (ctx.isConst(x)) {
    ctx.out(node, ctx.constInLayout(x, ctx.rank(x), perm));
    return;
  }
  const p = placed(ctx, x);
  ctx.out(node, p.name, afterTranspose(p.perm, perm));
};

const concat: OnnxTranslator = (ctx, node) => {
  const refs = node.inputs.map((i) => i.ref);
  const rank = outRank(ctx, node);
  let axis = attr<number>(node, 'axis');
  if (axis < 0) axis += rank;
  const data = refs.filter((r) => !ctx.isConst(r));
  const first = data[0] ? placed(ctx, data[0]).perm : null;
  const perm = first && data.every((r) => JSON.stringify(placed(ctx, r).perm) === JSON.stringify(first)) ? first : null;
  const names = refs.map((r) => (ctx.isConst(r) ? ctx.constInLayout(r, rank, perm) : ctx.inLayout(r, perm)));
  ctx.out(node, names.length === 1 ? names[0] : ctx.op('Concat', names, { axis: onnxAxis(perm, rank, axis) }), perm);
};

const pack: OnnxTranslator = (ctx, node) => {
  const rank = outRank(ctx, node);
  let axis = attr<number>(node, 'axis');
  if (axis < 0) axis += rank;
  const parts = node.inputs.map((i) => ctx.op('Unsqueeze', [ctx.canonical(i.ref), ctx.int64s([axis])]));
  ctx.out(node, parts.length === 1 ? parts[0] : ctx.op('Concat', parts, { axis }));
};

/** Split along a tfjs axis in the input's layout; `squeeze` drops the axis (Unpack). */
function splitInto(ctx: OnnxContext, node: TNode, x: TRef, axis: number, sizes: number[], squeeze: boolean): void {
  const rank = ctx.rank(x);
  const a = axis < 0 ? axis + rank : axis;
  const p = ctx.isConst(x) ? { name: ctx.canonical(x), perm: null } : placed(ctx, x);
  const onnx = onnxAxis(p.perm, rank, a);
  const parts = sizes.length === 1 ? [p.name] : ctx.add('Split', [p.name, ctx.int64s(sizes)], { axis: onnx }, sizes.length);
  parts.forEach((part, k) => {
    if (squeeze) ctx.out(node, ctx.op('Squeeze', [part, ctx.int64s([onnx])]), afterRemovingAxes(p.perm, rank, [a]), k);
    else ctx.out(node, part, p.perm, k);
  });
}

const unpack: OnnxTranslator = (ctx, node) => {
  const x = nth(node, 0);
  const axis = attr<number>(node, 'axis');
  const dim = ctx.shape(x)[axis < 0 ? axis + ctx.rank(x) : axis];
  if (typeof dim !== 'number') throw new UserError('export to ONNX: unstacking along the batch axis is not supported with a dynamic batch; export with a fixed batch size');
  splitInto(ctx, node, x, axis, new Array<number>(dim).fill(1), true);
};

const splitV: OnnxTranslator = (ctx, node) => {
  const x = nth(node, 0);
  let axis = attr<number>(node, 'axis');
  if (axis < 0) axis += ctx.rank(x);
  const dim = ctx.shape(x)[axis];
  if (typeof dim !== 'number') throw new UserError('export to ONNX: splitting along the batch axis is not supported with a dynamic batch');
  const spec = attr<number | number[]>(node, 'numOrSizeSplits');
  let sizes = typeof spec === 'number' ? new Array<number>(spec).fill(dim / spec) : [...spec];
  const known = sizes.filter((s) => s >= 0).reduce((a, b) => a + b, 0);
  sizes = sizes.map((s) => (s < 0 ? dim - known : s));
  splitInto(ctx, node, x, axis, sizes, false);
};

const slice: OnnxTranslator = (ctx, node) => {
  const x = nth(node, 0);
  const shape = ctx.shape(x);
  const begin = attr<Dim[]>(node, 'begin');
  const size = attr<Dim[]>(node, 'size');
  const p = ctx.isConst(x) ? { name: ctx.canonical(x), perm: null } : placed(ctx, x);
  const starts: Dim[] = [];
  const ends: Dim[] = [];
  const axes: number[] = [];
  shape.forEach((d, i) => {
    const b = begin[i] ?? 0;
    const s = size[i] ?? -1;
    const whole = sameDim(b, 0) && (sameDim(s, -1) || sameDim(s, d));
    if (whole) return;
    starts.push(b);
    ends.push(sameDim(s, -1) ? INT64_MAX : addDims(b, s));
    axes.push(onnxAxis(p.perm, shape.length, i));
  });
  if (!axes.length) {
    ctx.out(node, p.name, p.perm);
    return;
  }
  ctx.out(node, ctx.op('Slice', [p.name, ctx.ints(starts), ctx.ints(ends), ctx.int64s(axes)]), p.perm);
};

/** StridedSlice: tfjs's own normalisation of the masks, at batch 2 and 3, then Slice + Reshape. */
const stridedSlice: OnnxTranslator = (ctx, node) => {
  const x = nth(node, 0);
  const shape = ctx.shape(x);
  const a = node.attrs as Record<string, number | number[]>;
  const info = (n: number) =>
    tf.slice_util.sliceInfo(
      shape.map((d) => (typeof d === 'number' ? d : d.a * n + d.c)),
      a.begin as number[],
      a.end as number[],
      a.strides as number[],
      a.beginMask as number,
      a.endMask as number,
      a.ellipsisMask as number,
      a.newAxisMask as number,
      a.shrinkAxisMask as number,
    );
  const i2 = info(2);
  const i3 = info(3);
  const starts: number[] = [];
  const ends: number[] = [];
  const steps: number[] = [];
  i2.begin.forEach((b, i) => {
    const d = shape[i];
    if (b !== i3.begin[i]) throw new UserError('export to ONNX: a strided slice starting at a batch-dependent index is not supported');
    let e = i2.end[i];
    if (e !== i3.end[i]) {
      if (typeof d === 'number' || e !== d.a * 2 + d.c) throw new UserError('export to ONNX: a strided slice ending at a batch-dependent index is not supported');
      e = INT64_MAX;
    }
    const s = i2.strides[i];
    if (s < 0 && e < 0) e = -INT64_MAX;
    starts.push(b);
    ends.push(e);
    steps.push(s);
  });
  const axes = starts.map((_, i) => i);
  let y = ctx.op('Slice', [ctx.canonical(x), ctx.int64s(starts), ctx.int64s(ends), ctx.int64s(axes), ctx.int64s(steps)]);
  const outShape = ctx.shape({ kind: 'value', id: node.outputs[0] });
  y = ctx.op('Reshape', [y, ctx.ints(outShape.filter(isBatchExpr).length === 1 ? outShape.map((d) => (isBatchExpr(d) ? -1 : d)) : outShape)]);
  ctx.out(node, y);
};

const tile: OnnxTranslator = (ctx, node) => {
  const x = nth(node, 0);
  const reps = attr<Dim[]>(node, 'reps');
  const p = ctx.isConst(x) ? { name: ctx.canonical(x), perm: null } : placed(ctx, x);
  const onnxReps = p.perm ? p.perm.map((d) => reps[d]) : reps;
  ctx.out(node, ctx.op('Tile', [p.name, ctx.ints(onnxReps)]), p.perm);
};

function pad(mode: 'constant' | 'mirror'): OnnxTranslator {
  return (ctx, node) => {
    const x = nth(node, 0);
    const paddings = attr<number[][]>(node, 'paddings');
    const p = ctx.isConst(x) ? { name: ctx.canonical(x), perm: null } : placed(ctx, x);
    const order = p.perm ?? paddings.map((_, i) => i);
    const pads = [...order.map((d) => paddings[d][0]), ...order.map((d) => paddings[d][1])];
    const inputs = [p.name, ctx.int64s(pads)];
    let onnxMode = 'constant';
    if (mode === 'constant') {
      const value = attr<number>(node, 'constantValue') ?? 0;
      const dtype = ctx.dtype(x);
      inputs.push(dtype === 'float32' ? ctx.floats([value]) : ctx.newConst(Int32Array.of(value), 'int32', [], 'pad_value'));
    } else {
      const m = attr<string>(node, 'mode');
      if (m !== 'reflect') throw new UserError(`export to ONNX: mirror padding "${m}" is not supported (reflect is)`);
      onnxMode = 'reflect';
    }
    ctx.out(node, ctx.op('Pad', inputs, { mode: onnxMode }), p.perm);
  };
}

const gather: OnnxTranslator = (ctx, node) => {
  if ((attr<number>(node, 'batchDims') ?? 0) !== 0) throw new UserError('export to ONNX: gather with batchDims is not supported');
  const x = input(node, 'x');
  let axis = attr<number>(node, 'axis');
  if (axis < 0) axis += ctx.rank(x);
  ctx.out(node, ctx.op('Gather', [ctx.canonical(x), ctx.canonical(input(node, 'indices'))], { axis }));
};

function filledLike(value: number): OnnxTranslator {
  return (ctx, node) => {
    const x = nth(node, 0);
    const p = placed(ctx, x);
    const dtype = ctx.dtype(x);
    const tensor = { name: 'value', type: ONNX_TYPE[dtype], dims: [1], values: dtype === 'float32' ? Float32Array.of(value) : dtype === 'int32' ? Int32Array.of(value) : Uint8Array.of(value) };
    ctx.out(node, ctx.op('ConstantOfShape', [ctx.op('Shape', [p.name])], { value: { tensor } }), p.perm);
  };
}

export const SHAPE: Record<string, OnnxTranslator> = {
  Reshape: reshape,
  ExpandDims: expandDims,
  Transpose: transpose,
  Concat: concat,
  Pack: pack,
  Unpack: unpack,
  SplitV: splitV,
  Slice: slice,
  StridedSlice: stridedSlice,
  Tile: tile,
  PadV2: pad('constant'),
  MirrorPad: pad('mirror'),
  GatherV2: gather,
  ZerosLike: filledLike(0),
  OnesLike: filledLike(1),
};

export { outRank };
