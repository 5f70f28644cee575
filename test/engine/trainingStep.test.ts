/**
 * One full training step of a small conv net (conv, depthwise conv, batch norm, relu, pooling,
 * dense, cross-entropy, SGD) gives the same loss, gradients and updated weights on every engine
 * this machine has: cpu (the reference), wasm and wasm-ort.
 *
 * Tolerance per gradient: max |g - g_cpu| <= 1e-4 * max(1, max |g_cpu|) — float32 sums in
 * different orders through a dozen layers.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import type { EngineName } from '../../src/engine';
import { maxAbsDiff, randomValues } from './kernelHarness';
import { makeParams, PARAM_SHAPES, sgdStep } from './smallNet';

async function stepOn(engine: 'cpu' | 'wasm' | 'wasm-ort'): Promise<{ loss: number; grads: Record<string, Float32Array>; after: Record<string, Float32Array>; engine: EngineName }> {
  const report = await initEngine({ backend: engine });
  const p = makeParams(7);
  const x = tf.tensor4d(randomValues([6, 16, 16, 3], 99) as Float32Array, [6, 16, 16, 3]);
  const labels = tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32');
  const { loss, grads } = sgdStep(p, x, labels);
  const after: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(p)) after[name] = Float32Array.from(v.dataSync());
  tf.dispose([x, labels, ...Object.values(p)]);
  return { loss, grads, after, engine: report.engine };
}

describe('one training step gives the same gradients on every engine', () => {
  it('wasm and wasm-ort match the cpu backend', async () => {
    const reference = await stepOn('cpu');
    expect(Number.isFinite(reference.loss)).toBe(true);
    for (const engine of ['wasm', 'wasm-ort'] as const) {
      const got = await stepOn(engine);
      expect(got.engine).toBe(engine);
      expect(Math.abs(got.loss - reference.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(reference.loss)));
      for (const name of Object.keys(PARAM_SHAPES)) {
        const g = maxAbsDiff(got.grads[name], reference.grads[name]);
        expect(g.scale, `${name}: a gradient that is all zeros proves nothing`).toBeGreaterThan(0);
        expect(g.diff, `${engine} d${name}`).toBeLessThanOrEqual(1e-4 * Math.max(1, g.scale));
        const w = maxAbsDiff(got.after[name], reference.after[name]);
        expect(w.diff, `${engine} ${name} after the update`).toBeLessThanOrEqual(1e-5 * Math.max(1, w.scale));
      }
    }
  });
});
