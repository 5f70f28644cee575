/**
 * Element-wise kernels: activations and other unary maths, binary arithmetic and comparisons
 * (numpy broadcasting on both sides), batch norm in inference form. They keep the layout of their
 * input, so a convolution's NCHW output flows through norm and activation without transposes.
 */
import { UserError } from '../../../core/problems';
import type { TNode } from '../../trace';
import { ONNX_TYPE, type OnnxContext } from '../context';
import { alignOperands, attr, input, optionalInput, type OnnxTranslator } from './common';

function unary(build: (ctx: OnnxContext, x: string, node: TNode) => string): OnnxTranslator {
  return (ctx, node) => {
    const p = ctx.placedOf(node.inputs[0].ref);
    ctx.out(node, build(ctx, p.name, node), p.perm);
  };
}

const simple = (op: string) => unary((ctx, x) => ctx.op(op, [x]));

function binary(build: (ctx: OnnxContext, a: string, b: string) => string): OnnxTranslator {
  return (ctx, node) => {
    const rank = ctx.rank({ kind: 'value', id: node.outputs[0] });
    const { names, perm } = alignOperands(ctx, [node.inputs[0].ref, node.inputs[1].ref], rank);
    ctx.out(node, build(ctx, names[0], names[1]), perm);
  };
}

const simpleBinary = (op: string) => binary((ctx, a, b) => ctx.op(op, [a, b]));

/** Batch norm in inference form: folded into one scale and one shift when its statistics are constants. */
const fusedBatchNorm: OnnxTranslator = (ctx, node) => {
  const x = input(node, 'x');
  const mean = input(node, 'mean');
  const variance = input(node, 'variance');
  const offset = optionalInput(node, 'offset');
  const scale = optionalInput(node, 'scale');
  const eps = (attr<number | undefined>(node, 'varianceEpsilon') ?? 0.001) as number;
  const rank = ctx.rank(x);
  const params = [mean, variance, offset, scale].filter((r) => r !== undefined);
  if (!params.every((r) => ctx.isConst(r!))) {
    throw new UserError('export to ONNX: batch norm with statistics computed from the input is not supported (put the model in eval mode)');
  }
  const m = ctx.constOf(mean).data as Float32Array;
  const v = ctx.constOf(variance).data as Float32Array;
  const g = scale ? (ctx.constOf(scale).data as Float32Array) : undefined;
  const b = offset ? (ctx.constOf(offset).data as Float32Array) : undefined;
  const c = Math.max(m.length, v.length, g?.length ?? 1, b?.length ?? 1);
  const at = (a: Float32Array | undefined, i: number, dflt: number) => (a ? a[a.length === 1 ? 0 : i] : dflt);
  const s = new Float32Array(c);
  const t = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    s[i] = at(g, i, 1) / Math.sqrt(at(v, i, 1) + eps);
    t[i] = at(b, i, 0) - at(m, i, 0) * s[i];
  }
  const p = ctx.placedOf(x);
  const scaled = ctx.op('Mul', [p.name, ctx.dataInLayout(s, 'float32', [c], rank, p.perm)]);
  ctx.out(node, ctx.op('Add', [scaled, ctx.dataInLayout(t, 'float32', [c], rank, p.perm)]), p.perm);
};

/** n-ary ops whose operands broadcast together (AddN, Select). */
function variadic(op: string): OnnxTranslator {
  return (ctx, node) => {
    const rank = ctx.rank({ kind: 'value', id: node.outputs[0] });
    const { names, perm } = alignOperands(
      ctx,
      node.inputs.map((i) => i.ref),
      rank,
    );
    ctx.out(node, names.length === 1 && op === 'Sum' ? ctx.op('Identity', names) : ctx.op(op, names), perm);
  };
}

export const ELEMENTWISE: Record<string, OnnxTranslator> = {
  Relu: simple('Relu'),
  Relu6: unary((ctx, x) => ctx.op('Clip', [x, ctx.floats([0]), ctx.floats([6])])),
  Elu: unary((ctx, x) => ctx.op('Elu', [x], { alpha: { float: 1 } })),
  Selu: simple('Selu'),
  Sigmoid: simple('Sigmoid'),
  Tanh: simple('Tanh'),
  Erf: simple('Erf'),
  Exp: simple('Exp'),
  Expm1: unary((ctx, x) => ctx.op('Sub', [ctx.op('Exp', [x]), ctx.floats([1])])),
  Log: simple('Log'),
  Log1p: unary((ctx, x) => ctx.op('Log', [ctx.op('Add', [x, ctx.floats([1])])])),
  Sqrt: simple('Sqrt'),
  Rsqrt: unary((ctx, x) => ctx.op('Reciprocal', [ctx.op('Sqrt', [x])])),
  Square: unary((ctx, x) => ctx.op('Mul', [x, x])),
  Neg: simple('Neg'),
  Abs: simple('Abs'),
  Reciprocal: simple('Reciprocal'),
  Floor: simple('Floor'),
  Ceil: simple('Ceil'),
  Round: simple('Round'),
  Sign: simple('Sign'),
  Softplus: simple('Softplus'),
  Sin: simple('Sin'),
  Cos: simple('Cos'),
  IsNan: simple('IsNaN'),
  LogicalNot: simple('Not'),
  Identity: simple('Identity'),
  LeakyRelu: unary((ctx, x, node) => ctx.op('LeakyRelu', [x], { alpha: { float: attr<number>(node, 'alpha') } })),
  ClipByValue: unary((ctx, x, node) => ctx.op('Clip', [x, ctx.floats([attr<number>(node, 'clipValueMin')]), ctx.floats([attr<number>(node, 'clipValueMax')])])),
  Cast: unary((ctx, x, node) => {
    const to = attr<string>(node, 'dtype');
    if (to !== 'float32' && to !== 'int32' && to !== 'bool') throw new UserError(`export to ONNX: cast to ${to} is not supported`);
    return ctx.op('Cast', [x], { to: ONNX_TYPE[to] });
  }),

  Add: simpleBinary('Add'),
  Sub: simpleBinary('Sub'),
  Multiply: simpleBinary('Mul'),
  RealDiv: simpleBinary('Div'),
  Maximum: simpleBinary('Max'),
  Minimum: simpleBinary('Min'),
  Pow: simpleBinary('Pow'),
  FloorDiv: binary((ctx, a, b) => ctx.op('Floor', [ctx.op('Div', [a, b])])),
  SquaredDifference: binary((ctx, a, b) => {
    const d = ctx.op('Sub', [a, b]);
    return ctx.op('Mul', [d, d]);
  }),
  Prelu: simpleBinary('PRelu'),
  Greater: simpleBinary('Greater'),
  GreaterEqual: simpleBinary('GreaterOrEqual'),
  Less: simpleBinary('Less'),
  LessEqual: simpleBinary('LessOrEqual'),
  Equal: simpleBinary('Equal'),
  NotEqual: binary((ctx, a, b) => ctx.op('Not', [ctx.op('Equal', [a, b])])),
  LogicalAnd: simpleBinary('And'),
  LogicalOr: simpleBinary('Or'),
  AddN: variadic('Sum'),
  Select: variadic('Where'),
  FusedBatchNorm: fusedBatchNorm,
};
