/**
 * The batch-norm passes of batchNorm.wat, on the wasm backend's memory (module.ts). Each pass is
 * one sweep over the activations, f32x4 over four channels, where the backend's own kernels take
 * one sweep per operation (BENCHMARKS.md, "Batch norm"): the forward pass is two reading sweeps
 * and one writing, the backward pass one reading and one writing, with or without a ReLU/ReLU6
 * fused after the normalisation (`*_act`).
 *
 * Per-sample sums run over the sample's pixels in order, in float32, so a sample's sum is the same
 * whichever batch holds it (what SyncBatchNorm needs, src/distributed/syncBatchNorm.ts).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM_WASM } from './batchNormBinary';
import { onBackendMemory } from './module';

/** Byte offsets into the backend's memory; activations are [N, K, C] (M = N·K rows), vectors [C], sums [N, C]. */
export interface BatchNormPasses {
  /** out[s, c] = Σ_p x[s, p, c] */
  sums(x: number, n: number, k: number, c: number, out: number): void;
  /** out[s, c] = Σ_p (x[s, p, c] − mean[c])² */
  centered_square_sums(x: number, mean: number, n: number, k: number, c: number, out: number): void;
  /** y = (x − mean)·scale + shift */
  normalize(x: number, mean: number, scale: number, shift: number, m: number, c: number, y: number): void;
  /** sumDy[s, c] = Σ_p dy;  sumDyXc[s, c] = Σ_p dy·(x − mean) */
  grad_sums(dy: number, x: number, mean: number, n: number, k: number, c: number, sumDy: number, sumDyXc: number): void;
  /** dx = (dy·a + (x − mean)·b) + d */
  grad_input(dy: number, x: number, mean: number, a: number, b: number, d: number, m: number, c: number, dx: number): void;
  /** y = min(max(z, 0), hi), z = (x − mean)·scale + shift: normalize with ReLU (hi +inf) or ReLU6 (hi 6) */
  normalize_act(x: number, mean: number, scale: number, shift: number, hi: number, m: number, c: number, y: number): void;
  /** grad_sums of g = dy·[0 < z ≤ hi] */
  grad_sums_act(dy: number, x: number, mean: number, scale: number, shift: number, hi: number, n: number, k: number, c: number, sumDy: number, sumDyXc: number): void;
  /** grad_input of g = dy·[0 < z ≤ hi] */
  grad_input_act(dy: number, x: number, mean: number, scale: number, shift: number, hi: number, a: number, b: number, d: number, m: number, c: number, dx: number): void;
}

/** The passes on this backend's memory (src/engine/simd/module.ts), or undefined where they cannot run. */
export function batchNormPasses(backend: BackendWasm): BatchNormPasses | undefined {
  return onBackendMemory<BatchNormPasses>(backend, BATCH_NORM_WASM);
}

/** The passes take whole f32x4 vectors of channels. */
export function channelsFitPasses(c: number): boolean {
  return c % 4 === 0;
}
