/**
 * The runs the wasm backend's depthwise convolution and both its gradients are made of: for each
 * filter tap and each output (dy) row, the output positions whose input position lies inside the image, channels innermost
 * (both tensors are channels last, so each run reads contiguous channels), and the SIMD loops over
 * such a run (simd/depthwiseConv.wat).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { DEPTHWISE_CONV_WASM } from '../simd/depthwiseConvBinary';
import { onBackendMemory } from '../simd/module';
import type { ConvGeometry } from './reference';

/**
 * Every run, image by image and dy row by dy row (the rows they touch stay in cache), then tap by
 * tap: `visit(a, xb, db, len)` with `a` the tap's first filter element, `xb` and `db` the first
 * elements of x (or dx) and dy in the run, and `len` its positions (x advances sw·C a position, dy C·M).
 */
export function forEachTapRun(g: ConvGeometry, multiplier: number, visit: (a: number, xb: number, db: number, len: number) => void): void {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, filterHeight: kh, filterWidth: kw } = g;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padTop: top, padLeft: left } = g;
  const M = multiplier;
  // Per tap column j: the output columns whose input column xo·sw + j·dw − left lies inside [0, W).
  const lo = Array.from({ length: kw }, (_, j) => Math.max(0, Math.ceil((left - j * dw) / sw)));
  const hi = Array.from({ length: kw }, (_, j) => Math.min(Wo - 1, Math.floor((W - 1 + left - j * dw) / sw)));
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < Ho; y++) {
      for (let i = 0; i < kh; i++) {
        const h = y * sh + i * dh - top;
        if (h < 0 || h >= H) continue;
        for (let j = 0; j < kw; j++) {
          if (hi[j] < lo[j]) continue;
          visit((i * kw + j) * C * M, ((n * H + h) * W + lo[j] * sw + j * dw - left) * C, ((n * Ho + y) * Wo + lo[j]) * C * M, hi[j] - lo[j] + 1);
        }
      }
    }
  }
}

/** depthwiseConv.wat: one tap's run (byte offsets; xs and c in elements). */
export interface DepthwisePasses {
  /** acc[k] (float64) += Σ_p x[p·xs + k] · dy[p·c + k], the run summed in float32. */
  tap_run(acc: number, x: number, xs: number, dy: number, c: number, len: number): void;
  /** dx[p·xs + k] += dy[p·c + k] · f[k]. */
  tap_run_input(dx: number, xs: number, dy: number, f: number, c: number, len: number): void;
  /** out[p·c + k] += x[p·xs + k] · f[k]. */
  tap_run_forward(out: number, x: number, xs: number, f: number, c: number, len: number): void;
}

/** The SIMD loops where they apply: float32, multiplier 1, channels in whole f32x4 vectors. */
export function depthwisePasses(backend: BackendWasm, g: ConvGeometry, multiplier: number, ...tensors: TensorInfo[]): DepthwisePasses | undefined {
  const fits = multiplier === 1 && g.inChannels % 4 === 0 && tensors.every((t) => t.dtype === 'float32');
  return fits ? onBackendMemory<DepthwisePasses>(backend, DEPTHWISE_CONV_WASM) : undefined;
}
