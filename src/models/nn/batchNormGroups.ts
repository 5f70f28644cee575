/**
 * Batch norm over slices of the batch: MoCo's shuffling batch norm in one process. Inside
 * `withBatchNormGroups(g, fn)` every BatchNorm in training mode normalises each of `g` consecutive
 * slices of the batch with the slice's own statistics, as g GPUs with a batch of N/g each would
 * (the SplitBatchNorm of MoCo's one-GPU demo and of lightly). A batch norm over all ranks
 * (runner.sync_bn) takes precedence: there each rank is already one slice.
 */
let groups = 1;

export function withBatchNormGroups<T>(g: number, fn: () => T): T {
  const outer = groups;
  groups = g;
  try {
    return fn();
  } finally {
    groups = outer;
  }
}

/**
 * The slice sizes of a batch of `n` rows in `batchNormGroups()` groups: as equal as can be, each of
 * at least 2 rows (one row has no variance); `[n]` when not grouping. A last batch smaller than the
 * configured one gets fewer slices rather than slices of one.
 */
export function batchNormSlices(n: number): number[] {
  const g = Math.max(1, Math.min(groups, Math.floor(n / 2)));
  const base = Math.floor(n / g);
  return Array.from({ length: g }, (_, i) => base + (i < n % g ? 1 : 0));
}
