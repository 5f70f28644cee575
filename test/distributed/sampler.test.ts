import { describe, expect, it } from 'vitest';
import { shardLength, shardOrder } from '../../src/distributed/sampler';
import { randomFor } from '../../src/core/random';

describe('shardOrder (DistributedSampler)', () => {
  it.each([
    [2000, 2],
    [10, 3],
    [7, 4],
    [3, 5],
  ])('%i samples on %i ranks: every sample at least once, padding only as needed, equal shares', (n, size) => {
    const order = randomFor(7, 1).permutation(n);
    const shards = Array.from({ length: size }, (_, r) => shardOrder(order, r, size));
    const perRank = shardLength(n, size);
    for (const s of shards) expect(s.length).toBe(perRank);
    const counts = new Map<number, number>();
    for (const s of shards) for (const i of s) counts.set(i, (counts.get(i) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    const total = perRank * size;
    // Padded like PyTorch: the first (total - n) samples of the epoch's order once more.
    const twice = [...counts.entries()].filter(([, c]) => c > 1).map(([i]) => i);
    const padding = total - n;
    if (padding <= n) {
      expect([...counts.values()].every((c) => c <= 2)).toBe(true);
      expect(twice.sort((a, b) => a - b)).toEqual([...order.slice(0, padding)].sort((a, b) => a - b));
    }
  });

  it('matches torch.utils.data.DistributedSampler (shuffle=False) index by index', () => {
    // DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False): pads to 12 with 0, 1
    const order = Int32Array.from({ length: 10 }, (_, i) => i);
    expect([...shardOrder(order, 0, 3)]).toEqual([0, 3, 6, 9]);
    expect([...shardOrder(order, 1, 3)]).toEqual([1, 4, 7, 0]);
    expect([...shardOrder(order, 2, 3)]).toEqual([2, 5, 8, 1]);
  });

  it('batch b of all ranks together is batch b of one process with an N times larger batch', () => {
    const n = 1000;
    const order = randomFor(3, 0).permutation(n);
    const size = 4;
    const batch = 8;
    for (let b = 0; b < Math.floor(n / (batch * size)); b++) {
      const fromRanks = Array.from({ length: size }, (_, r) => [...shardOrder(order, r, size).subarray(b * batch, (b + 1) * batch)]).flat();
      const single = [...order.subarray(b * batch * size, (b + 1) * batch * size)];
      expect(fromRanks.sort((x, y) => x - y)).toEqual(single.sort((x, y) => x - y));
    }
  });

  it('different epochs give different shards; the same epoch the same', () => {
    const a = shardOrder(randomFor(5, 0).permutation(100), 1, 2);
    const b = shardOrder(randomFor(5, 1).permutation(100), 1, 2);
    expect([...a]).not.toEqual([...b]);
    expect([...shardOrder(randomFor(5, 0).permutation(100), 1, 2)]).toEqual([...a]);
  });

  it('refuses a rank outside the world', () => {
    expect(() => shardOrder(new Int32Array(4), 2, 2)).toThrow(/rank 2 of 2/);
  });
});
