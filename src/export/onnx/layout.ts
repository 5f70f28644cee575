/**
 * Layouts. TensorFlow.js computes NHWC; ONNX convolutions, pools and resizes want NCHW. Instead of
 * wrapping every convolution in two transposes, each ONNX value carries the permutation that maps
 * it to the traced (tfjs) tensor: ONNX dimension i is tfjs dimension perm[i]. Element-wise ops,
 * reductions, concatenations and pads follow whatever layout their input has; only ops that care
 * (reshape, matmul, ...) get the tfjs layout back, through one Transpose. A tfjs Transpose only
 * changes the permutation — it costs nothing until some op needs the data in order.
 */

/** NCHW as a permutation of NHWC: ONNX [N, C, H, W] = tfjs dims [0, 3, 1, 2]. */
export const NCHW: readonly number[] = [0, 3, 1, 2];

export function identity(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => i);
}

export function isIdentity(perm: readonly number[] | null): boolean {
  return !perm || perm.every((p, i) => p === i);
}

export function inverse(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/**
 * The ONNX Transpose `perm` attribute that turns a value laid out as `from` into one laid out as
 * `to` (both permutations of the same tfjs tensor).
 */
export function transposeBetween(from: readonly number[] | null, to: readonly number[] | null, rank: number): number[] {
  const f = from ?? identity(rank);
  const t = to ?? identity(rank);
  const fInv = inverse(f);
  return t.map((d) => fInv[d]);
}

/** The layout of tfjs `y = transpose(x, p)` when x's data is kept as it is (laid out as `from`). */
export function afterTranspose(from: readonly number[] | null, p: readonly number[]): number[] | null {
  const f = from ?? identity(p.length);
  const pInv = inverse(p);
  const out = f.map((d) => pInv[d]);
  return isIdentity(out) ? null : out;
}

/**
 * The layout left after removing tfjs axes `removed` from a value laid out as `perm` (a reduction
 * without keepDims, a squeeze): the remaining dims keep their ONNX order, renumbered.
 */
export function afterRemovingAxes(perm: readonly number[] | null, rank: number, removed: readonly number[]): number[] | null {
  const p = perm ?? identity(rank);
  const kept = p.filter((d) => !removed.includes(d));
  const sorted = [...kept].sort((a, b) => a - b);
  const out = kept.map((d) => sorted.indexOf(d));
  return isIdentity(out) ? null : out;
}

/** The ONNX axis holding tfjs axis `axis` (negative axes count from the end). */
export function onnxAxis(perm: readonly number[] | null, rank: number, axis: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return perm ? perm.indexOf(a) : a;
}

/** Transpose row-major data of `shape` by an ONNX-style perm (output dim i = input dim perm[i]). */
export function transposeData<T extends Float32Array | Int32Array | Uint8Array>(data: T, shape: readonly number[], perm: readonly number[]): { data: T; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  if (isIdentity(perm)) return { data, shape: outShape };
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const strides = perm.map((p) => inStrides[p]);
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < outShape[d]) break;
      src -= strides[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}
