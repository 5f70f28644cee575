/**
 * PyTorch and this toolkit lay weights out differently: convolutions OIHW vs HWIO (depthwise
 * [C, 1, k, k] vs [k, k, C, 1]), linear layers [out, in] vs [in, out]. Everything else (norms,
 * biases, embeddings) is the same.
 */
import { numel, type WeightTensor } from './tensor';
import type { Layout } from './maps/types';

/** Axis permutations from PyTorch's layout to the toolkit's, and back. */
const TO_TOOLKIT: Record<Exclude<Layout, 'same'>, number[]> = { conv: [2, 3, 1, 0], dwconv: [2, 3, 0, 1], linear: [1, 0] };
const TO_TORCH: Record<Exclude<Layout, 'same'>, number[]> = { conv: [3, 2, 0, 1], dwconv: [2, 3, 0, 1], linear: [1, 0] };

/** The layout of a tensor of this rank unless the map says otherwise. */
export function defaultLayout(rank: number): Layout {
  return rank === 4 ? 'conv' : rank === 2 ? 'linear' : 'same';
}

/** Transpose `t` by `perm` (out axis i = in axis perm[i]). */
export function permute(t: WeightTensor, perm: number[]): WeightTensor {
  const shape = perm.map((p) => t.shape[p]);
  const n = numel(t.shape);
  const src = t.values;
  const out = src instanceof Float32Array ? new Float32Array(n) : new Int32Array(n);
  const inStrides = t.shape.map((_, d) => numel(t.shape.slice(d + 1)));
  const strides = perm.map((p) => inStrides[p]);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let at = 0;
  for (let i = 0; i < n; i++) {
    out[i] = src[at];
    // Odometer over the output shape, moving `at` by the matching input strides.
    for (let d = rank - 1; d >= 0; d--) {
      at += strides[d];
      if (++idx[d] < shape[d]) break;
      at -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return { shape, values: out, stored: t.stored };
}

export function toToolkitLayout(t: WeightTensor, layout: Layout): WeightTensor {
  if (layout === 'same' || t.shape.length !== TO_TOOLKIT[layout].length) return t;
  return permute(t, TO_TOOLKIT[layout]);
}

export function toTorchLayout(t: WeightTensor, layout: Layout): WeightTensor {
  if (layout === 'same' || t.shape.length !== TO_TORCH[layout].length) return t;
  return permute(t, TO_TORCH[layout]);
}
