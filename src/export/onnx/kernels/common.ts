/** What every ONNX kernel translator shares: its type, operand alignment, fused activations. */
import { UserError } from '../../../core/problems';
import type { TNode, TRef } from '../../trace';
import type { OnnxContext } from '../context';

/** Translate one traced kernel into ONNX nodes, placing its outputs in the context. */
export type OnnxTranslator = (ctx: OnnxContext, node: TNode) => void;

export function input(node: TNode, name: string): TRef {
  const i = node.inputs.find((x) => x.name === name);
  if (!i) throw new UserError(`export to ONNX: kernel ${node.kernel} has no input "${name}"`);
  return i.ref;
}

export function optionalInput(node: TNode, name: string): TRef | undefined {
  return node.inputs.find((x) => x.name === name)?.ref;
}

/** The i-th input, whatever its name. */
export function nth(node: TNode, i: number): TRef {
  const ref = node.inputs[i]?.ref;
  if (!ref) throw new UserError(`export to ONNX: kernel ${node.kernel} has fewer than ${i + 1} inputs`);
  return ref;
}

export function attr<T>(node: TNode, name: string): T {
  return node.attrs[name] as T;
}

/**
 * Operands of an element-wise op in one layout: the layout of the data operands when they agree
 * (constants are rearranged to match, once, at export time), otherwise the tfjs layout.
 */
export function alignOperands(ctx: OnnxContext, refs: TRef[], outRank: number): { names: string[]; perm: number[] | null } {
  let perm: number[] | null = null;
  const data = refs.filter((r) => !ctx.isConst(r));
  const first = data[0] ? ctx.placedOf(data[0]) : undefined;
  if (first?.perm && data.every((r) => ctx.rank(r) === outRank && JSON.stringify(ctx.placedOf(r).perm) === JSON.stringify(first.perm))) perm = first.perm;
  const names = refs.map((r) => (ctx.isConst(r) ? ctx.constInLayout(r, outRank, perm) : ctx.inLayout(r, perm)));
  return { names, perm };
}

/** Apply a fused activation (tfjs fused conv / matmul) to `x`. */
export function fusedActivation(ctx: OnnxContext, node: TNode, x: string, perm: number[] | null, outRank: number): string {
  const act = (node.attrs.activation as string | undefined) ?? 'linear';
  switch (act) {
    case 'linear':
      return x;
    case 'relu':
      return ctx.op('Relu', [x]);
    case 'relu6':
      return ctx.op('Clip', [x, ctx.floats([0]), ctx.floats([6])]);
    case 'elu':
      return ctx.op('Elu', [x], { alpha: { float: 1 } });
    case 'sigmoid':
      return ctx.op('Sigmoid', [x]);
    case 'leakyrelu':
      return ctx.op('LeakyRelu', [x], { alpha: { float: (node.attrs.leakyreluAlpha as number | undefined) ?? 0.2 } });
    case 'prelu': {
      const alpha = input(node, 'preluActivationWeights');
      const a = ctx.isConst(alpha) ? ctx.constInLayout(alpha, outRank, perm) : ctx.inLayout(alpha, perm);
      return ctx.op('PRelu', [x, a]);
    }
    default:
      throw new UserError(`export to ONNX: fused activation "${act}" of kernel ${node.kernel} is not supported`);
  }
}
