/**
 * Matrix products of the wasm-ort engine: BatchMatMul and _FusedMatMul (bias, relu) on
 * onnxruntime's multi-threaded GEMM. tfjs hands these kernels tensors of rank 2 or more (a Linear
 * layer's [rows, cols], attention's [batch, heads, rows, cols]); the leading dimensions are
 * flattened into one batch dimension (a view, no copy) when both sides have the same ones or one
 * side has none to speak of. A single matrix product becomes one Gemm node (transposes are flags
 * there, not copies), batched ones MatMul with Transpose nodes.
 */
import { BatchMatMul, _FusedMatMul, util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { OnnxType, type OnnxGraph, type OnnxNode } from '../onnxModel';
import { tryOrtOp } from '../session';
import { runOrtOutputs, shapeKey, withFallback } from './common';

const F = OnnxType.FLOAT;

interface MatMulCase {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  bias?: number[];
  relu: boolean;
}

function outShapeOf(c: MatMulCase): number[] | undefined {
  if (c.a.length !== 3 || c.b.length !== 3) return undefined;
  const [ba, ra, ca] = c.a;
  const [bb, rb, cb] = c.b;
  const m = c.transposeA ? ca : ra;
  const k = c.transposeA ? ra : ca;
  const k2 = c.transposeB ? cb : rb;
  const n = c.transposeB ? rb : cb;
  if (k !== k2 || (ba !== bb && ba !== 1 && bb !== 1)) return undefined;
  return [Math.max(ba, bb), m, n];
}

/**
 * The graph of a product and the shape each of its inputs and its output is bound with: views of
 * the tensors' memory, so no node copies an operand. A single product (batch 1, a bias that
 * broadcasts over rows) is one Gemm on 2-D views, its transposes flags, with no Reshape nodes
 * around it; batched ones are MatMul with Transpose nodes.
 */
function matMulPlan(c: MatMulCase, out: number[]): { graph: OnnxGraph; dims: Record<string, number[]> } {
  const [, m, n] = out;
  const nodes: OnnxNode[] = [];
  const last = c.relu ? 'prod' : 'y';
  const gemmBias = !c.bias || c.bias.length <= 2 || c.bias.slice(0, -2).every((d) => d === 1);
  let dims: Record<string, number[]>;
  if (c.a[0] === 1 && c.b[0] === 1 && gemmBias) {
    dims = { a: c.a.slice(1), b: c.b.slice(1), y: [m, n] };
    if (c.bias) dims.bias = c.bias.slice(-2);
    nodes.push({ op: 'Gemm', inputs: c.bias ? ['a', 'b', 'bias'] : ['a', 'b'], outputs: [last], attrs: { transA: c.transposeA ? 1 : 0, transB: c.transposeB ? 1 : 0 } });
  } else {
    dims = { a: c.a, b: c.b, y: out };
    if (c.bias) dims.bias = c.bias;
    const a = c.transposeA ? 'at' : 'a';
    const b = c.transposeB ? 'bt' : 'b';
    if (c.transposeA) nodes.push({ op: 'Transpose', inputs: ['a'], outputs: ['at'], attrs: { perm: [0, 2, 1] } });
    if (c.transposeB) nodes.push({ op: 'Transpose', inputs: ['b'], outputs: ['bt'], attrs: { perm: [0, 2, 1] } });
    nodes.push({ op: 'MatMul', inputs: [a, b], outputs: [c.bias ? 'mm' : last] });
    if (c.bias) nodes.push({ op: 'Add', inputs: ['mm', 'bias'], outputs: [last] });
  }
  if (c.relu) nodes.push({ op: 'Relu', inputs: ['prod'], outputs: ['y'] });
  const value = (name: string) => ({ name, type: F, shape: dims[name] });
  const graph: OnnxGraph = { name: 'matmul', nodes, inputs: ['a', 'b', ...(c.bias ? ['bias'] : [])].map(value), outputs: [value('y')] };
  return { graph, dims };
}

/**
 * The rank-3 views [batch, rows, cols] of two operands and the batch dimensions of the product:
 * equal leading dimensions flatten alike; a side whose leading dimensions hold one matrix
 * broadcasts. Other broadcasts are left to the kernel below.
 */
function asRank3(a: readonly number[], b: readonly number[]): { a3: number[]; b3: number[]; outer: number[] } | undefined {
  if (a.length < 2 || b.length < 2) return undefined;
  const outerA = a.slice(0, -2);
  const outerB = b.slice(0, -2);
  const same = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  const outer = same || util.sizeFromShape(outerB) === 1 ? outerA : util.sizeFromShape(outerA) === 1 ? outerB : undefined;
  if (!outer) return undefined;
  // tfjs' broadcast shape: the longer side's rank, the missing leading dimensions 1.
  const rank = Math.max(outerA.length, outerB.length);
  return { a3: [util.sizeFromShape(outerA), ...a.slice(-2)], b3: [util.sizeFromShape(outerB), ...b.slice(-2)], outer: [...new Array<number>(rank - outer.length).fill(1), ...outer] };
}

function runMatMul(backend: BackendWasm, a: TensorInfo, b: TensorInfo, bias: TensorInfo | undefined, transposeA: boolean, transposeB: boolean, relu: boolean): TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return undefined;
  const views = asRank3(a.shape, b.shape);
  if (!views) return undefined;
  const c: MatMulCase = { a: views.a3, b: views.b3, transposeA, transposeB, bias: bias?.shape, relu };
  const out = outShapeOf(c);
  if (!out || out.some((d) => d === 0)) return undefined;
  // The bias must broadcast to the output without growing it.
  if (bias && (bias.shape.length > 3 || bias.shape.some((d, i) => d !== 1 && d !== out[out.length - bias.shape.length + i]))) return undefined;
  const key = `MatMul:${shapeKey(c.a, c.b, bias?.shape ?? [])}:${+transposeA}${+transposeB}${+relu}`;
  const plan = matMulPlan(c, out);
  const op = tryOrtOp(key, () => plan.graph);
  const feeds: Record<string, TensorInfo> = bias ? { a, b, bias } : { a, b };
  return op && runOrtOutputs(backend, key, op, feeds, { y: [...views.outer, out[1], out[2]] }, plan.dims)?.[0];
}

export const batchMatMulOrtConfig = withFallback(BatchMatMul, ({ inputs, backend, attrs }) => {
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  return runMatMul(backend, inputs.a, inputs.b, undefined, transposeA, transposeB, false);
});

export const fusedMatMulOrtConfig = withFallback(_FusedMatMul, ({ inputs, backend, attrs }) => {
  const { transposeA, transposeB, activation } = attrs as unknown as { transposeA: boolean; transposeB: boolean; activation: string };
  if ((inputs.preluActivationWeights as TensorInfo | undefined) || (activation !== 'linear' && activation !== 'relu')) return undefined;
  return runMatMul(backend, inputs.a, inputs.b, inputs.bias as TensorInfo | undefined, transposeA, transposeB, activation === 'relu');
});

export const ORT_MATMUL_KERNELS = [batchMatMulOrtConfig, fusedMatMulOrtConfig];
