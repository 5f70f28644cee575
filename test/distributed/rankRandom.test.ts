import { describe, expect, it } from 'vitest';
import { seedStep, stepRandom } from '../../src/models/nn/stepRandom';
import { randomMasking } from '../../src/models/algorithms/selfsup/mae';

/** MAE's masks of one step (8 images of 16 patches, 75% masked) as the runner of `rank` seeds it. */
function masks(rank?: number): number[] {
  if (rank === undefined) seedStep(3, 5);
  else seedStep(3, 5, rank);
  return Array.from(randomMasking(8, 16, 0.75, stepRandom()).mask);
}

describe('the step random stream of data-parallel ranks', () => {
  it('differs by rank, so that row k of every rank gets its own dropout, drop-path and MAE mask (MAE: seed + rank)', () => {
    const single = masks();
    // Rank 0 draws what one process draws: a single-process run is unchanged.
    expect(masks(0)).toEqual(single);
    const [r1, r2] = [masks(1), masks(2)];
    // With one stream for all ranks, image k of rank 1 was masked exactly as image k of rank 0.
    expect(r1).not.toEqual(single);
    expect(r2).not.toEqual(r1);
    expect(r1.filter((m) => m === 1)).toHaveLength(8 * 12);
  });

  it('is still a function of (seed, iteration, rank) alone: a resumed rank draws the same', () => {
    expect(masks(1)).toEqual(masks(1));
  });
});
