/**
 * Shared geometry of the composed convolution gradients: a convolution's gradients are themselves
 * convolutions, over zero-upsampled or transposed tensors, with paddings that can come out negative
 * (a forward padding larger than the kernel, rows a VALID convolution never read). Negative
 * padding becomes a crop, so the fast forward kernels only ever see ordinary padding.
 */
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelScope } from './kernelScope';
import type { ConvGeometry } from './reference';

/** Explicit NHWC padding as the forward kernels take it. */
export type ExplicitPad = [[0, 0], [number, number], [number, number], [0, 0]];

/**
 * Insert `stride - 1` zeros after every row/column of an NHWC tensor: [N,H,W,C] → [N,H*sh,W*sw,C].
 * The last `sh - 1` rows and `sw - 1` columns are zeros too; callers account for them in padding.
 */
export function upsampleWithZeros(s: KernelScope, x: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape;
  const spread = s.reshape(x, [n, h, 1, w, 1, c]);
  const padded = s.pad(spread, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return s.reshape(padded, [n, h * sh, w * sw, c]);
}

/**
 * Apply paddings that may be negative to axes 1 and 2 of an NHWC tensor: the negative parts are
 * cropped here, the positive parts are returned for the convolution to apply. Undefined when the
 * crop leaves nothing: no output reads the input there (a padding larger than the kernel at a
 * stride that skips the input), and the gradient is all zeros.
 */
export function cropNegativePadding(s: KernelScope, x: TensorInfo, top: number, bottom: number, left: number, right: number): { x: TensorInfo; pad: ExplicitPad } | undefined {
  const [n, h, w, c] = x.shape;
  const cropTop = Math.max(0, -top);
  const cropBottom = Math.max(0, -bottom);
  const cropLeft = Math.max(0, -left);
  const cropRight = Math.max(0, -right);
  let out = x;
  if (cropTop || cropBottom || cropLeft || cropRight) {
    const size = [n, h - cropTop - cropBottom, w - cropLeft - cropRight, c];
    if (size[1] <= 0 || size[2] <= 0) return undefined;
    out = s.slice(x, [0, cropTop, cropLeft, 0], size);
  }
  return {
    x: out,
    pad: [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ],
  };
}

/** NCHW ↔ NHWC permutations. */
export const NCHW_TO_NHWC = [0, 2, 3, 1];
export const NHWC_TO_NCHW = [0, 3, 1, 2];

/** True when any dimension is zero: the kernel's output is all zeros (or empty). */
export function isEmpty(...shapes: number[][]): boolean {
  return shapes.some((shape) => shape.some((d) => d === 0));
}

/** The loop geometry of a tfjs Conv2DInfo (see reference.ts). */
export function geometryOf(info: backend_util.Conv2DInfo): ConvGeometry {
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * Fail with a clear message when a tensor's shape disagrees with the convolution's geometry: the
 * fast kernels index memory by the geometry, so a mismatch would read or write out of bounds.
 */
export function expectShape(kernel: string, what: string, actual: readonly number[], expected: readonly number[]): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`${kernel}: ${what} has shape [${actual.join(', ')}], but the convolution's attributes imply [${expected.join(', ')}]`);
  }
}
