/**
 * Matrix products: tfjs BatchMatMul (and the fused form with bias and activation) to ONNX MatMul,
 * which broadcasts batch dimensions the same way. Transposed operands are transposed at export
 * time when constant, otherwise by a layout change (free when the value already has it).
 */
import type { TRef } from '../../trace';
import type { OnnxContext } from '../context';
import { alignOperands, attr, fusedActivation, input, optionalInput, type OnnxTranslator } from './common';

function swapLast(rank: number): number[] {
  const p = Array.from({ length: rank }, (_, i) => i);
  [p[rank - 2], p[rank - 1]] = [p[rank - 1], p[rank - 2]];
  return p;
}

function operand(ctx: OnnxContext, r: TRef, transposed: boolean): string {
  const rank = ctx.rank(r);
  const perm = transposed ? swapLast(rank) : null;
  return ctx.isConst(r) ? ctx.constInLayout(r, rank, perm) : ctx.inLayout(r, perm);
}

function matmul(fused: boolean): OnnxTranslator {
  return (ctx, node) => {
    const a = operand(ctx, input(node, 'a'), !!attr(node, 'transposeA'));
    const b = operand(ctx, input(node, 'b'), !!attr(node, 'transposeB'));
    let y = ctx.op('MatMul', [a, b]);
    const outRank = ctx.rank({ kind: 'value', id: node.outputs[0] });
    if (fused) {
      const bias = optionalInput(node, 'bias');
      if (bias) y = ctx.op('Add', [y, alignOperands(ctx, [bias], outRank).names[0]]);
      y = fusedActivation(ctx, node, y, null, outRank);
    }
    ctx.out(node, y);
  };
}

export const MATMUL: Record<string, OnnxTranslator> = {
  BatchMatMul: matmul(false),
  _FusedMatMul: matmul(true),
  Einsum: (ctx, node) => {
    ctx.out(
      node,
      ctx.op(
        'Einsum',
        node.inputs.map((i) => ctx.canonical(i.ref)),
        { equation: attr<string>(node, 'equation') },
      ),
    );
  },
};
