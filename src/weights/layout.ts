/**
 * PyTorch and this toolkit lay weights out differently: convolutions OIHW vs HWIO (depthwise
 * [C, 1, k, k] vs [k, k, C, 1]), linear layers [out, in] vs [in, out] (also when PyTorch holds them as
 * 1x1 convolutions, [out, in, 1, 1]), per-channel scales kept broadcastable over a CHW map [C, 1, 1]
 * (or an NHWC one, [1, 1, 1, C]) vs [C]. Everything else (norms, biases, embeddings) is the same.
 */
import { numel, type WeightTensor } from './tensor';
import type { Layout } from './maps/types';

/** Axis permutations from PyTorch's layout to the toolkit's, and back. */
type Permuted = Exclude<Layout, 'same' | 'scale' | 'scale_nhwc' | 'pointwise'>;
const TO_TOOLKIT: Record<Permuted, number[]> = { conv: [2, 3, 1, 0], dwconv: [2, 3, 0, 1], linear: [1, 0] };
const TO_TORCH: Record<Permuted, number[]> = { conv: [3, 2, 0, 1], dwconv: [2, 3, 0, 1], linear: [1, 0] };

/** Where a per-channel factor keeps its channels in PyTorch's shape, the other axes 1. */
const SCALE_SHAPE = { scale: (c: number) => [c, 1, 1], scale_nhwc: (c: number) => [1, 1, 1, c] };

/** The layout of a tensor of this rank unless the map says otherwise. */
export function defaultLayout(rank: number): Layout {
  return rank === 4 ? 'conv' : rank === 2 ? 'linear' : 'same';
}

/** Transpose `t` by `perm` (out axis i = in axis perm[i]); ranks up to 4. */
export function permute(t: WeightTensor, perm: number[]): WeightTensor {
  if (perm.length > 4 || perm.length !== t.shape.length) throw new Error(`permute: rank ${t.shape.length} by [${perm}]`);
  // Pad to rank 4 with leading unit axes, then four plain loops (ResNet-50 in ~0.1 s).
  const lead = 4 - perm.length;
  const inShape = [...new Array<number>(lead).fill(1), ...t.shape];
  const p4 = [...Array.from({ length: lead }, (_, i) => i), ...perm.map((p) => p + lead)];
  const inStrides = inShape.map((_, d) => numel(inShape.slice(d + 1)));
  const [n0, n1, n2, n3] = p4.map((p) => inShape[p]);
  const [s0, s1, s2, s3] = p4.map((p) => inStrides[p]);
  const src = t.values;
  const out = src instanceof Float32Array ? new Float32Array(src.length) : new Int32Array(src.length);
  let i = 0;
  for (let a = 0; a < n0; a++)
    for (let b = 0; b < n1; b++)
      for (let c = 0; c < n2; c++) {
        const base = a * s0 + b * s1 + c * s2;
        for (let d = 0; d < n3; d++) out[i++] = src[base + d * s3];
      }
  return { shape: perm.map((p) => t.shape[p]), values: out, stored: t.stored };
}

export function toToolkitLayout(t: WeightTensor, layout: Layout): WeightTensor {
  if (layout === 'scale' || layout === 'scale_nhwc') {
    const c = t.values.length;
    return t.shape.join() === SCALE_SHAPE[layout](c).join() ? { ...t, shape: [c] } : t;
  }
  if (layout === 'pointwise') return toToolkitLayout(t.shape.length === 4 && t.shape[2] === 1 && t.shape[3] === 1 ? { ...t, shape: t.shape.slice(0, 2) } : t, 'linear');
  if (layout === 'same' || t.shape.length !== TO_TOOLKIT[layout].length) return t;
  return permute(t, TO_TOOLKIT[layout]);
}

export function toTorchLayout(t: WeightTensor, layout: Layout): WeightTensor {
  if (layout === 'scale' || layout === 'scale_nhwc') return t.shape.length === 1 ? { ...t, shape: SCALE_SHAPE[layout](t.shape[0]) } : t;
  // [out, in]; the map adds the 1x1 where its model holds a convolution (exportExtras).
  if (layout === 'pointwise') return toTorchLayout(t, 'linear');
  if (layout === 'same' || t.shape.length !== TO_TORCH[layout].length) return t;
  return permute(t, TO_TORCH[layout]);
}
