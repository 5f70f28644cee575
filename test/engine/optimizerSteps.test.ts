/**
 * The optimizer updates (src/engine/ops/optimizerSteps.ts): on the wasm engines one kernel (a SIMD
 * sweep, src/engine/simd/optimizers.wat, the last n mod 4 elements in JavaScript) gives bit for bit
 * what the composed tf ops give on the cpu backend, over several steps and every SGD variant.
 * (The updates themselves against PyTorch's formulas: test/train/optimizers.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import { adamwStep, sgdStep, type SgdStep } from '../../src/engine/ops/optimizerSteps';
import { randomValues } from './kernelHarness';

const N = 4 * 257 + 3;

/** Three steps on `engine`: the parameter (and state) after each, as plain arrays. */
async function sgdRun(engine: 'cpu' | 'wasm' | 'wasm-ort', s: Omit<SgdStep, 'fresh'>): Promise<{ trace: number[][]; kernels: string[] }> {
  await initEngine({ backend: engine });
  let w: tf.Tensor = tf.tensor1d(randomValues([N], 1) as Float32Array);
  let buf: tf.Tensor | undefined = s.momentum > 0 ? tf.zeros([N]) : undefined;
  const trace: number[][] = [];
  let kernels: string[] = [];
  for (let t = 0; t < 3; t++) {
    const grad = tf.tensor1d(randomValues([N], 10 + t) as Float32Array);
    const info = await tf.profile(() => sgdStep(w, grad, buf, { ...s, fresh: t === 0 }));
    const next = info.result as unknown as { w: tf.Tensor; buf?: tf.Tensor };
    kernels = info.kernelNames;
    w = next.w;
    buf = next.buf ?? buf;
    trace.push(Array.from(w.dataSync()), ...(next.buf ? [Array.from(next.buf.dataSync())] : []));
  }
  return { trace, kernels };
}

async function adamwRun(engine: 'cpu' | 'wasm' | 'wasm-ort', weightDecay: number): Promise<{ trace: number[][]; kernels: string[] }> {
  await initEngine({ backend: engine });
  let w: tf.Tensor = tf.tensor1d(randomValues([N], 2) as Float32Array);
  let m: tf.Tensor = tf.zeros([N]);
  let v: tf.Tensor = tf.zeros([N]);
  const trace: number[][] = [];
  let kernels: string[] = [];
  for (let t = 1; t <= 3; t++) {
    const grad = tf.tensor1d(randomValues([N], 20 + t) as Float32Array);
    const s = { beta1: 0.9, beta2: 0.95, eps: 1e-8, correction1: 1 - 0.9 ** t, correction2: 1 - 0.95 ** t, lr: 1.5e-3, weightDecay };
    const info = await tf.profile(() => adamwStep(w, grad, m, v, s));
    const next = info.result as unknown as { w: tf.Tensor; m: tf.Tensor; v: tf.Tensor };
    kernels = info.kernelNames;
    ({ w, m, v } = next);
    trace.push(Array.from(w.dataSync()), Array.from(m.dataSync()), Array.from(v.dataSync()));
  }
  return { trace, kernels };
}

const SGD_VARIANTS: Array<Omit<SgdStep, 'fresh'>> = [
  { lr: 0.1, weightDecay: 5e-4, momentum: 0.9, nesterov: true },
  { lr: 0.05, weightDecay: 1e-4, momentum: 0.9, nesterov: false },
  { lr: 0.3, weightDecay: 0, momentum: 0.8, nesterov: false },
  { lr: 0.2, weightDecay: 1e-3, momentum: 0, nesterov: false },
];

describe('optimizer updates as one kernel on the wasm engines', () => {
  for (const engine of ['wasm', 'wasm-ort'] as const) {
    it.each(SGD_VARIANTS)(`${engine}: SGD %j equals the composed update on cpu, bit for bit`, async (s) => {
      const expected = await sgdRun('cpu', s);
      const actual = await sgdRun(engine, s);
      expect(actual.kernels).toEqual(['CvwSgdStep']);
      expect(actual.trace).toEqual(expected.trace);
    });

    it.each([0.05, 0])(`${engine}: AdamW (weight decay %s) equals the composed update on cpu, bit for bit`, async (wd) => {
      const expected = await adamwRun('cpu', wd);
      const actual = await adamwRun(engine, wd);
      expect(actual.kernels).toEqual(['CvwAdamWStep']);
      expect(actual.trace).toEqual(expected.trace);
    });
  }
});
