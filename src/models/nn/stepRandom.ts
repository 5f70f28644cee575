/**
 * The random stream of the current training step (dropout, drop-path, masking, queue noise).
 * The trainer re-seeds it from (seed, iteration) before every step, so the draws of step i are
 * the same in an uninterrupted run and in one resumed just before step i.
 *
 * In a data-parallel run each rank has its own stream (rank 0's is the single process's): the
 * ranks hold different samples, and one stream would give row k of every rank's batch the same
 * dropout mask, drop-path draw and MAE mask. MAE seeds each rank with seed + rank (main_pretrain.py),
 * mmpretrain's MAE configs set `diff_rank_seed=True`.
 */
import { Random, randomFor } from '../../core/random';

let current = new Random(0);

export function seedStep(seed: number, iteration: number, rank = 0): void {
  current = rank > 0 ? randomFor(seed, 0x57e9, iteration, rank) : randomFor(seed, 0x57e9, iteration);
}

export function stepRandom(): Random {
  return current;
}
