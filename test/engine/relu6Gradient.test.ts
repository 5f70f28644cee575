/**
 * Relu6's gradient (src/engine/relu6Gradient.ts) on the CPU engines: 1 on (0, 6], 0 elsewhere —
 * tfjs-core's own convention, boundaries included — times the incoming gradient.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import { CPU_FUZZ_ENGINES } from './engineFuzz';

const X = [-3, -1e-3, 0, 1e-3, 0.5, 3, 5.999, 6, 6.001, 9];
const DY = X.map((_, i) => i + 1);
const EXPECTED = X.map((x, i) => (x > 0 && x <= 6 ? DY[i] : 0));

describe('Relu6 gradient', () => {
  for (const engine of ['cpu', ...CPU_FUZZ_ENGINES] as const) {
    it(`is the (0, 6] mask times dy on ${engine}`, async () => {
      await initEngine({ backend: engine });
      const grad = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu6(x), tf.tensor1d(DY))))(tf.tensor1d(X)).dataSync());
      expect(Array.from(grad)).toEqual(EXPECTED);
      // and on the wasm engines as one kernel (the SIMD sweep of src/engine/simd/relu6.wat), over
      // whole vectors and a remainder, with gradients of both signs
      const n = 4 * 1001 + 3;
      const x = Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 10 - 2);
      const dy = Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (1 + (i % 7)));
      const { kernelNames, result } = await tf.profile(() => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu6(v), tf.tensor1d(dy))))(tf.tensor1d(x)).dataSync()));
      expect(Array.from(result as unknown as Float32Array)).toEqual(x.map((v, i) => dy[i] * (v > 0 && v <= 6 ? 1 : 0)));
      if (engine !== 'cpu') {
        expect(kernelNames).toContain('CvwRelu6Grad');
        expect(kernelNames).not.toContain('Step');
      }
    });
  }
});
