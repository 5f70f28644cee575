import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ensureGradients } from '../../src/engine/gradients';

/** The plain cpu backend: the reference every engine is compared with. */
export async function useCpu(): Promise<typeof tf> {
  ensureGradients();
  await tf.setBackend('cpu');
  await tf.ready();
  return tf;
}

/** Largest absolute difference between two arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
