/**
 * Convolutions and pooling. tfjs weights are HWIO (`[kh, kw, in, out]`; depthwise
 * `[kh, kw, in, multiplier]`), ONNX wants OIHW (depthwise: `[in * multiplier, 1, kh, kw]` with
 * `group = in`); constant weights are rearranged at export time. Padding becomes explicit ONNX
 * `pads`, computed the way TensorFlow does for "same". Inputs and outputs are NCHW.
 */
import { UserError } from '../../../core/problems';
import type { TNode, TRef } from '../../trace';
import type { OnnxContext } from '../context';
import { NCHW, transposeData } from '../layout';
import { attr, fusedActivation, input, optionalInput, type OnnxTranslator } from './common';

function pair(v: number | number[] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  return v.length === 4 ? [v[1], v[2]] : [v[0], v[1] ?? v[0]];
}

/**
 * ONNX pads `[top, left, bottom, right]` for a tfjs `pad` attribute over an input of `inH x inW`.
 */
export function padsFor(pad: unknown, inH: number, inW: number, k: [number, number], stride: [number, number], dilation: [number, number], where: string): number[] {
  if (pad === 'valid' || pad === 'VALID') return [0, 0, 0, 0];
  if (typeof pad === 'number') return [pad, pad, pad, pad];
  if (pad === 'same' || pad === 'SAME') {
    const one = (size: number, kk: number, s: number, d: number) => {
      const out = Math.ceil(size / s);
      const total = Math.max(0, (out - 1) * s + (kk - 1) * d + 1 - size);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    };
    const [t, b] = one(inH, k[0], stride[0], dilation[0]);
    const [l, r] = one(inW, k[1], stride[1], dilation[1]);
    return [t, l, b, r];
  }
  if (Array.isArray(pad) && pad.length === 4) {
    // Explicit NHWC padding [[0, 0], [top, bottom], [left, right], [0, 0]].
    const p = pad as number[][];
    return [p[1][0], p[2][0], p[1][1], p[2][1]];
  }
  throw new UserError(`export to ONNX: ${where} has padding ${JSON.stringify(pad)}, which is not supported`);
}

function checkRounding(node: TNode): void {
  const mode = node.attrs.dimRoundingMode;
  if (mode !== undefined && mode !== null && mode !== 'floor') throw new UserError(`export to ONNX: ${node.kernel} with dimRoundingMode "${mode}" is not supported`);
}

function spatial(ctx: OnnxContext, x: TRef, where: string): [number, number] {
  const [, h, w] = ctx.shape(x);
  if (typeof h !== 'number' || typeof w !== 'number') throw new UserError(`export to ONNX: ${where} needs a fixed height and width`);
  return [h, w];
}

/** OIHW weights of a dense or depthwise filter (constant: rearranged now; computed: Transpose nodes). */
function weights(ctx: OnnxContext, filter: TRef, depthwise: boolean): { name: string; kernel: [number, number]; out: number; inChannels: number } {
  const shape = ctx.staticShape(filter, 'a convolution filter');
  const [kh, kw, ci, co] = shape;
  const out = depthwise ? ci * co : co;
  if (ctx.isConst(filter)) {
    const c = ctx.constOf(filter);
    const t = transposeData(c.data, c.shape, depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]);
    return { name: ctx.newConst(t.data, c.dtype, depthwise ? [out, 1, kh, kw] : t.shape, 'conv_w'), kernel: [kh, kw], out, inChannels: ci };
  }
  let name = ctx.inLayout(filter, depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]);
  if (depthwise) name = ctx.op('Reshape', [name, ctx.int64s([out, 1, kh, kw])]);
  return { name, kernel: [kh, kw], out, inChannels: ci };
}

function conv(depthwise: boolean, fused: boolean): OnnxTranslator {
  return (ctx, node) => {
    checkRounding(node);
    const x = input(node, 'x');
    const w = weights(ctx, input(node, 'filter'), depthwise);
    const stride = pair(attr(node, 'strides'), 1);
    const dilation = pair(attr(node, 'dilations'), 1);
    const [h, wd] = spatial(ctx, x, node.kernel);
    const pads = padsFor(attr(node, 'pad'), h, wd, w.kernel, stride, dilation, node.kernel);
    if (attr<string | undefined>(node, 'dataFormat') && attr<string>(node, 'dataFormat') !== 'NHWC') throw new UserError(`export to ONNX: ${node.kernel} with dataFormat ${attr(node, 'dataFormat')} is not supported`);
    const inputs = [ctx.inLayout(x, NCHW), w.name];
    const bias = fused ? optionalInput(node, 'bias') : undefined;
    let addBiasAfter = false;
    if (bias) {
      const bs = ctx.shape(bias);
      if (ctx.isConst(bias) && bs.length === 1 && bs[0] === w.out) inputs.push(ctx.canonical(bias));
      else addBiasAfter = true;
    }
    let y = ctx.op('Conv', inputs, {
      kernel_shape: w.kernel,
      strides: stride,
      dilations: dilation,
      pads,
      group: depthwise ? w.inChannels : 1,
    });
    if (bias && addBiasAfter) y = ctx.op('Add', [y, ctx.isConst(bias) ? ctx.constInLayout(bias, 4, NCHW) : ctx.inLayout(bias, NCHW)]);
    if (fused) y = fusedActivation(ctx, node, y, [...NCHW], 4);
    ctx.out(node, y, [...NCHW]);
  };
}

function pool(op: 'MaxPool' | 'AveragePool'): OnnxTranslator {
  return (ctx, node) => {
    checkRounding(node);
    const x = input(node, 'x');
    const k = pair(attr(node, 'filterSize'), 1);
    const stride = pair(attr(node, 'strides'), 1);
    const [h, w] = spatial(ctx, x, node.kernel);
    const pads = padsFor(attr(node, 'pad'), h, w, k, stride, [1, 1], node.kernel);
    const attrs = { kernel_shape: k, strides: stride, pads, ...(op === 'AveragePool' ? { count_include_pad: 0 } : {}) };
    ctx.out(node, ctx.op(op, [ctx.inLayout(x, NCHW)], attrs), [...NCHW]);
  };
}

export const CONV: Record<string, OnnxTranslator> = {
  Conv2D: conv(false, false),
  FusedConv2D: conv(false, true),
  DepthwiseConv2dNative: conv(true, false),
  FusedDepthwiseConv2D: conv(true, true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
};
