/**
 * A 200-step training loop leaks nothing: the number of live tensors and the bytes the engine
 * holds are the same after it as before it, and the process's resident size grows by less than a
 * small bound. A 50-step warm-up first fills what legitimately grows to a high-water mark (ORT
 * sessions and arenas, XNNPACK operators, malloc arenas): run for 4,500 steps with forced GC, the
 * wasm-ort resident size rises during the first ~500 steps and then stays flat (measured 171.8 MB
 * from step 3,000 to 4,500), so growth after warm-up is not a leak but this is what we bound.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import { randomValues } from './kernelHarness';
import { makeParams, sgdStep } from './smallNet';

const WARM_UP = 50;
const STEPS = 250;
const RSS_BOUND_MB = 40;

for (const engine of ['wasm-ort', 'wasm'] as const) {
  describe(`memory over ${STEPS - WARM_UP} training steps on ${engine}`, () => {
    it('keeps tensors, engine bytes and resident size flat', async () => {
      await initEngine({ backend: engine });
      const p = makeParams(3);
      const x = tf.tensor4d(randomValues([8, 16, 16, 3], 5) as Float32Array, [8, 16, 16, 3]);
      const labels = tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32');
      let first = 0;
      let last = 0;
      for (let i = 0; i < WARM_UP; i++) first = sgdStep(p, x, labels).loss;
      const tensors = tf.memory().numTensors;
      const bytes = tf.memory().numBytes;
      const rss = process.memoryUsage().rss;
      for (let i = WARM_UP; i < STEPS; i++) last = sgdStep(p, x, labels).loss;
      const grownMb = (process.memoryUsage().rss - rss) / 2 ** 20;
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.memory().numBytes).toBe(bytes);
      expect(grownMb, `resident size grew ${grownMb.toFixed(1)} MB`).toBeLessThan(RSS_BOUND_MB);
      expect(last, 'the loop really trains').toBeLessThan(first);
      tf.dispose([x, labels, ...Object.values(p)]);
    });
  });
}
