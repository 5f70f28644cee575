/**
 * tfjs kernels as TensorFlow ops of a graph model. TF.js's converter maps TensorFlow op names back
 * to the same tfjs ops, so most kernels translate one to one; attributes move to TensorFlow's
 * names and forms (strides as [1, s, s, 1], shapes and axes as int32 constant inputs).
 */
import { UserError } from '../../core/problems';
import type { Dim, TNode, TRef } from '../trace';
import { tfBool, tfFloat, tfInt, tfInts, tfString, tfStrings, tfType, type TfAttr, type TfGraphBuilder } from './builder';

export type TfTranslator = (b: TfGraphBuilder, node: TNode) => void;

const inp = (node: TNode, name: string): TRef => {
  const i = node.inputs.find((x) => x.name === name);
  if (!i) throw new UserError(`export to TF.js: kernel ${node.kernel} has no input "${name}"`);
  return i.ref;
};
const opt = (node: TNode, name: string) => node.inputs.find((x) => x.name === name)?.ref;
const first = (node: TNode) => node.inputs[0].ref;
const outRank = (b: TfGraphBuilder, node: TNode, k = 0) => b.shape({ kind: 'value', id: node.outputs[k] }).length;

function out(b: TfGraphBuilder, node: TNode, name: string, k = 0): void {
  b.place(node.outputs[k], name);
}

function pair(v: number | number[] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  return v.length === 4 ? [v[1], v[2]] : [v[0], v[1] ?? v[0]];
}

/** TensorFlow padding attributes for a tfjs `pad`. */
function padding(pad: unknown, where: string): Record<string, TfAttr> {
  if (pad === 'valid' || pad === 'same') return { padding: tfString(pad.toUpperCase()) };
  if (typeof pad === 'number') return pad === 0 ? { padding: tfString('VALID') } : { padding: tfString('EXPLICIT'), explicit_paddings: tfInts([0, 0, pad, pad, pad, pad, 0, 0]) };
  if (Array.isArray(pad)) return { padding: tfString('EXPLICIT'), explicit_paddings: tfInts((pad as number[][]).flat()) };
  throw new UserError(`export to TF.js: ${where} has padding ${JSON.stringify(pad)}, which is not supported`);
}

function convAttrs(node: TNode): Record<string, TfAttr> {
  const [sh, sw] = pair(node.attrs.strides as number | number[], 1);
  const [dh, dw] = pair(node.attrs.dilations as number | number[], 1);
  if (node.attrs.dimRoundingMode != null && node.attrs.dimRoundingMode !== 'floor') throw new UserError(`export to TF.js: ${node.kernel} with dimRoundingMode is not supported`);
  return { strides: tfInts([1, sh, sw, 1]), dilations: tfInts([1, dh, dw, 1]), data_format: tfString('NHWC'), T: tfType('float32'), ...padding(node.attrs.pad, node.kernel) };
}

const FUSED_ACTIVATION: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu' };

/** fused_ops, extra inputs and attributes of a fused conv / matmul. */
function fusedParts(b: TfGraphBuilder, node: TNode): { inputs: string[]; attrs: Record<string, TfAttr> } {
  const bias = opt(node, 'bias');
  const act = (node.attrs.activation as string | undefined) ?? 'linear';
  const ops: string[] = [];
  const inputs: string[] = [];
  if (bias) {
    ops.push('BiasAdd');
    inputs.push(b.ref(bias));
  }
  if (act !== 'linear') {
    const name = FUSED_ACTIVATION[act];
    if (!name) throw new UserError(`export to TF.js: fused activation "${act}" is not supported`);
    ops.push(name);
    if (act === 'prelu') inputs.push(b.ref(inp(node, 'preluActivationWeights')));
  }
  const attrs: Record<string, TfAttr> = { fused_ops: tfStrings(ops), num_args: tfInt(inputs.length) };
  if (act === 'leakyrelu') attrs.leakyrelu_alpha = tfFloat((node.attrs.leakyreluAlpha as number | undefined) ?? 0.2);
  return { inputs, attrs };
}

function conv(tfOp: string, fused: boolean): TfTranslator {
  return (b, node) => {
    const x = b.ref(inp(node, 'x'));
    const w = b.ref(inp(node, 'filter'));
    if (!fused) {
      out(b, node, b.op(tfOp, [x, w], convAttrs(node)));
      return;
    }
    const parts = fusedParts(b, node);
    out(b, node, b.op(tfOp, [x, w, ...parts.inputs], { ...convAttrs(node), ...parts.attrs }));
  };
}

function pool(tfOp: string): TfTranslator {
  return (b, node) => {
    const [kh, kw] = pair(node.attrs.filterSize as number | number[], 1);
    const [sh, sw] = pair(node.attrs.strides as number | number[], 1);
    const pad = node.attrs.pad;
    if (pad !== 'valid' && pad !== 'same' && pad !== 0) throw new UserError(`export to TF.js: ${node.kernel} with padding ${JSON.stringify(pad)} is not supported (pad the input first)`);
    out(b, node, b.op(tfOp, [b.ref(first(node))], { ksize: tfInts([1, kh, kw, 1]), strides: tfInts([1, sh, sw, 1]), padding: tfString(pad === 0 ? 'VALID' : String(pad).toUpperCase()), data_format: tfString('NHWC'), T: tfType('float32') }));
  };
}

function unary(tfOp: string, attrs: (node: TNode) => Record<string, TfAttr> = () => ({})): TfTranslator {
  return (b, node) => out(b, node, b.op(tfOp, [b.ref(first(node))], { T: tfType(b.dtype(first(node))), ...attrs(node) }));
}

function binary(tfOp: string): TfTranslator {
  return (b, node) => out(b, node, b.op(tfOp, node.inputs.map((i) => b.ref(i.ref)), { T: tfType(b.dtype(node.inputs[0].ref)) }));
}

function reduce(tfOp: string): TfTranslator {
  return (b, node) => {
    const x = first(node);
    const rank = b.shape(x).length;
    const raw = (node.attrs.axis ?? node.attrs.reductionIndices) as number | number[] | null | undefined;
    const axes = raw == null ? Array.from({ length: rank }, (_, i) => i) : typeof raw === 'number' ? [raw] : raw;
    out(b, node, b.op(tfOp, [b.ref(x), b.int32s(axes)], { keep_dims: tfBool(!!node.attrs.keepDims), T: tfType(b.dtype(x)) }));
  };
}

const fusedBatchNorm: TfTranslator = (b, node) => {
  const refs = ['mean', 'variance', 'offset', 'scale'].map((n) => opt(node, n));
  if (!refs.every((r) => !r || r.kind === 'const')) throw new UserError('export to TF.js: batch norm with statistics computed from the input is not supported (put the model in eval mode)');
  const get = (r: TRef | undefined) => (r ? (b.graph.consts[r.id].data as Float32Array) : undefined);
  const [m, v, off, g] = refs.map(get);
  const eps = (node.attrs.varianceEpsilon as number | undefined) ?? 0.001;
  const c = Math.max(...[m, v, off, g].map((a) => a?.length ?? 1));
  const at = (a: Float32Array | undefined, i: number, d: number) => (a ? a[a.length === 1 ? 0 : i] : d);
  const s = new Float32Array(c);
  const t = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    s[i] = at(g, i, 1) / Math.sqrt(at(v, i, 1) + eps);
    t[i] = at(off, i, 0) - at(m, i, 0) * s[i];
  }
  const scaled = b.op('Mul', [b.ref(inp(node, 'x')), b.constData(s, 'float32', [c], 'bn_scale')], { T: tfType('float32') });
  out(b, node, b.op('AddV2', [scaled, b.constData(t, 'float32', [c], 'bn_shift')], { T: tfType('float32') }));
};

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

export const TF_TRANSLATORS: Record<string, TfTranslator> = {
  Conv2D: conv('Conv2D', false),
  DepthwiseConv2dNative: conv('DepthwiseConv2dNative', false),
  FusedConv2D: conv('_FusedConv2D', true),
  FusedDepthwiseConv2D: conv('FusedDepthwiseConv2dNative', true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AvgPool'),
  BatchMatMul: (b, node) =>
    out(b, node, b.op('BatchMatMulV2', [b.ref(inp(node, 'a')), b.ref(inp(node, 'b'))], { adj_x: tfBool(!!node.attrs.transposeA), adj_y: tfBool(!!node.attrs.transposeB), T: tfType('float32') })),
  _FusedMatMul: (b, node) => {
    const parts = fusedParts(b, node);
    out(
      b,
      node,
      b.op('_FusedMatMul', [b.ref(inp(node, 'a')), b.ref(inp(node, 'b')), ...parts.inputs], {
        transpose_a: tfBool(!!node.attrs.transposeA),
        transpose_b: tfBool(!!node.attrs.transposeB),
        T: tfType('float32'),
        ...parts.attrs,
      }),
    );
  },
  Einsum: (b, node) =>
    out(
      b,
      node,
      b.op(
        'Einsum',
        node.inputs.map((i) => b.ref(i.ref)),
        { equation: tfString(node.attrs.equation as string), N: tfInt(node.inputs.length), T: tfType('float32') },
      ),
    ),
  FusedBatchNorm: fusedBatchNorm,

  ...Object.fromEntries(
    ['Relu', 'Relu6', 'Elu', 'Selu', 'Sigmoid', 'Tanh', 'Erf', 'Exp', 'Expm1', 'Log', 'Log1p', 'Sqrt', 'Rsqrt', 'Square', 'Neg', 'Abs', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sign', 'Softplus', 'Sin', 'Cos', 'IsNan', 'LogicalNot', 'Identity'].map((k) => [k, unary(k)]),
  ),
  LeakyRelu: unary('LeakyRelu', (n) => ({ alpha: tfFloat(n.attrs.alpha as number) })),
  Cast: (b, node) => out(b, node, b.op('Cast', [b.ref(first(node))], { DstT: tfType(node.attrs.dtype as 'float32'), SrcT: tfType(b.dtype(first(node))) })),
  ClipByValue: (b, node) => out(b, node, b.op('ClipByValue', [b.ref(first(node)), b.float(node.attrs.clipValueMin as number), b.float(node.attrs.clipValueMax as number)], { T: tfType('float32') })),

  Add: binary('AddV2'),
  Sub: binary('Sub'),
  Multiply: binary('Mul'),
  RealDiv: binary('RealDiv'),
  Maximum: binary('Maximum'),
  Minimum: binary('Minimum'),
  Pow: binary('Pow'),
  FloorDiv: binary('FloorDiv'),
  SquaredDifference: binary('SquaredDifference'),
  Prelu: binary('Prelu'),
  Greater: binary('Greater'),
  GreaterEqual: binary('GreaterEqual'),
  Less: binary('Less'),
  LessEqual: binary('LessEqual'),
  Equal: binary('Equal'),
  NotEqual: binary('NotEqual'),
  LogicalAnd: binary('LogicalAnd'),
  LogicalOr: binary('LogicalOr'),
  Select: binary('SelectV2'),
  AddN: (b, node) => out(b, node, b.op('AddN', node.inputs.map((i) => b.ref(i.ref)), { N: tfInt(node.inputs.length), T: tfType('float32') })),

  Reshape: (b, node) => out(b, node, b.op('Reshape', [b.ref(first(node)), b.reshapeTarget(node.attrs.shape as Dim[])], { T: tfType(b.dtype(first(node))) })),
  ExpandDims: (b, node) => out(b, node, b.op('ExpandDims', [b.ref(first(node)), b.int32s([node.attrs.dim as number], [])], { T: tfType(b.dtype(first(node))) })),
  Transpose: (b, node) => out(b, node, b.op('Transpose', [b.ref(first(node)), b.int32s(node.attrs.perm as number[])], { T: tfType(b.dtype(first(node))) })),
  Concat: (b, node) => {
    const names = node.inputs.map((i) => b.ref(i.ref));
    const axis = normAxis(node.attrs.axis as number, outRank(b, node));
    out(b, node, names.length === 1 ? names[0] : b.op('ConcatV2', [...names, b.int32s([axis], [])], { N: tfInt(names.length), T: tfType(b.dtype(node.inputs[0].ref)) }));
  },
  Pack: (b, node) =>
    out(
      b,
      node,
      b.op(
        'Pack',
        node.inputs.map((i) => b.ref(i.ref)),
        { axis: tfInt(normAxis(node.attrs.axis as number, outRank(b, node))), N: tfInt(node.inputs.length), T: tfType(b.dtype(node.inputs[0].ref)) },
      ),
    ),
  Unpack: (b, node) => {
    const name = b.op('Unpack', [b.ref(first(node))], { axis: tfInt(node.attrs.axis as number), num: tfInt(node.outputs.length), T: tfType(b.dtype(first(node))) });
    node.outputs.forEach((_, k) => out(b, node, k === 0 ? name : `${name}:${k}`, k));
  },
  SplitV: (b, node) => {
    const x = first(node);
    const rank = b.shape(x).length;
    const axis = normAxis(node.attrs.axis as number, rank);
    const dim = b.shape(x)[axis];
    const spec = node.attrs.numOrSizeSplits as number | number[];
    if (typeof dim !== 'number') throw new UserError('export to TF.js: splitting along the batch axis is not supported with a dynamic batch');
    const sizes = typeof spec === 'number' ? new Array<number>(spec).fill(dim / spec) : spec;
    const name = b.op('SplitV', [b.ref(x), b.int32s(sizes), b.int32s([axis], [])], { num_split: tfInt(sizes.length), T: tfType(b.dtype(x)) });
    node.outputs.forEach((_, k) => out(b, node, k === 0 ? name : `${name}:${k}`, k));
  },
  Slice: (b, node) => out(b, node, b.op('Slice', [b.ref(first(node)), b.ints(node.attrs.begin as Dim[]), b.ints(node.attrs.size as Dim[])], { T: tfType(b.dtype(first(node))) })),
  StridedSlice: (b, node) => {
    const a = node.attrs;
    const mask = (k: string) => tfInt((a[k] as number | undefined) ?? 0);
    out(
      b,
      node,
      b.op('StridedSlice', [b.ref(first(node)), b.ints(a.begin as Dim[]), b.ints(a.end as Dim[]), b.ints(a.strides as Dim[])], {
        begin_mask: mask('beginMask'),
        end_mask: mask('endMask'),
        ellipsis_mask: mask('ellipsisMask'),
        new_axis_mask: mask('newAxisMask'),
        shrink_axis_mask: mask('shrinkAxisMask'),
        T: tfType(b.dtype(first(node))),
      }),
    );
  },
  Tile: (b, node) => out(b, node, b.op('Tile', [b.ref(first(node)), b.ints(node.attrs.reps as Dim[])], { T: tfType(b.dtype(first(node))) })),
  PadV2: (b, node) => {
    const x = first(node);
    const value = (node.attrs.constantValue as number | undefined) ?? 0;
    const v = b.dtype(x) === 'float32' ? b.float(value) : b.int32s([value], []);
    out(b, node, b.op('PadV2', [b.ref(x), b.int32s((node.attrs.paddings as number[][]).flat(), [b.shape(x).length, 2]), v], { T: tfType(b.dtype(x)) }));
  },
  MirrorPad: (b, node) => {
    const x = first(node);
    out(b, node, b.op('MirrorPad', [b.ref(x), b.int32s((node.attrs.paddings as number[][]).flat(), [b.shape(x).length, 2])], { mode: tfString(String(node.attrs.mode).toUpperCase()), T: tfType(b.dtype(x)) }));
  },
  GatherV2: (b, node) => {
    const x = inp(node, 'x');
    out(
      b,
      node,
      b.op('GatherV2', [b.ref(x), b.ref(inp(node, 'indices')), b.int32s([normAxis(node.attrs.axis as number, b.shape(x).length)], [])], {
        batch_dims: tfInt((node.attrs.batchDims as number | undefined) ?? 0),
        Tparams: tfType(b.dtype(x)),
      }),
    );
  },
  ZerosLike: unary('ZerosLike'),
  OnesLike: unary('OnesLike'),

  Mean: reduce('Mean'),
  Sum: reduce('Sum'),
  Max: reduce('Max'),
  Min: reduce('Min'),
  Prod: reduce('Prod'),
  ArgMax: (b, node) => out(b, node, b.op('ArgMax', [b.ref(first(node)), b.int32s([node.attrs.axis as number], [])], { T: tfType('float32'), output_type: tfType('int32') })),
  ArgMin: (b, node) => out(b, node, b.op('ArgMin', [b.ref(first(node)), b.int32s([node.attrs.axis as number], [])], { T: tfType('float32'), output_type: tfType('int32') })),
  Softmax: (b, node) => {
    const x = first(node);
    const dim = (node.attrs.dim as number | undefined) ?? -1;
    if (normAxis(dim, b.shape(x).length) !== b.shape(x).length - 1) throw new UserError('export to TF.js: softmax over an axis other than the last is not supported');
    out(b, node, b.op('Softmax', [b.ref(x)], { T: tfType('float32') }));
  },
  LogSoftmax: unary('LogSoftmax'),
  TopK: (b, node) => {
    const name = b.op('TopKV2', [b.ref(first(node)), b.int32s([node.attrs.k as number], [])], { sorted: tfBool(node.attrs.sorted !== false), T: tfType('float32') });
    out(b, node, name, 0);
    out(b, node, `${name}:1`, 1);
  },
  ResizeBilinear: (b, node) =>
    out(
      b,
      node,
      b.op('ResizeBilinear', [b.ref(first(node)), b.int32s(node.attrs.size as number[])], {
        align_corners: tfBool(!!node.attrs.alignCorners),
        half_pixel_centers: tfBool(!!node.attrs.halfPixelCenters),
        T: tfType('float32'),
      }),
    ),
  ResizeNearestNeighbor: (b, node) =>
    out(
      b,
      node,
      b.op('ResizeNearestNeighbor', [b.ref(first(node)), b.int32s(node.attrs.size as number[])], {
        align_corners: tfBool(!!node.attrs.alignCorners),
        half_pixel_centers: tfBool(!!node.attrs.halfPixelCenters),
        T: tfType('float32'),
      }),
    ),
};
