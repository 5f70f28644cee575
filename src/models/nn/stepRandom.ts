/**
 * The random stream of the current training step (dropout, drop-path, masking, queue noise).
 * The trainer re-seeds it from (seed, iteration) before every step, so the draws of step i are
 * the same in an uninterrupted run and in one resumed just before step i.
 */
import { Random, randomFor } from '../../core/random';

let current = new Random(0);

export function seedStep(seed: number, iteration: number): void {
  current = randomFor(seed, 0x57e9, iteration);
}

export function stepRandom(): Random {
  return current;
}
