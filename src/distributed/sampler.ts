/**
 * Each rank's share of an epoch, as PyTorch's DistributedSampler makes it: the epoch's order
 * (seeded, the same on every rank) padded with its own first indices up to a multiple of the world
 * size, then every `size`-th index from `rank` on. Every sample is seen once per epoch (a few twice,
 * for the padding), and batch b of all ranks together holds exactly the samples of batch b of a
 * single process whose batch is `size` times larger.
 */
export function shardOrder(order: Int32Array, rank: number, size: number): Int32Array {
  if (!Number.isInteger(size) || size < 1 || !Number.isInteger(rank) || rank < 0 || rank >= size) throw new RangeError(`shardOrder: rank ${rank} of ${size}`);
  if (size === 1) return order;
  const perRank = Math.ceil(order.length / size);
  const out = new Int32Array(perRank);
  for (let k = 0; k < perRank; k++) out[k] = order[(k * size + rank) % order.length];
  return out;
}

/** Samples per rank per epoch. */
export function shardLength(length: number, size: number): number {
  return Math.ceil(length / size);
}
