// Gradient clipping: one norm over all gradients (clip_grad_norm_), or each parameter's (DINO).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import { clipByGlobalNorm, clipPerParameter } from '../../src/train/gradients';

beforeAll(async () => {
  await useCpu();
});

describe('gradient clipping', () => {
  const grads = () => ({ a: tf.tensor1d([3, 4]), b: tf.tensor1d([0.3, 0.4]) });

  it('per model scales every gradient by max_norm / the norm of all of them', () => {
    const out = clipByGlobalNorm(grads(), 1);
    const s = 1 / Math.sqrt(25 + 0.25);
    expect(Array.from(out.a.dataSync())).toEqual([3 * s, 4 * s].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(out.b.dataSync())).toEqual([0.3 * s, 0.4 * s].map((v) => expect.closeTo(v, 6)));
  });

  it('per parameter scales only the gradients whose own norm is above max_norm, each to max_norm', () => {
    const out = clipPerParameter(grads(), 1);
    expect(Array.from(out.a.dataSync())).toEqual([0.6, 0.8].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(out.b.dataSync())).toEqual([0.3, 0.4].map((v) => expect.closeTo(v, 6)));
  });
});
