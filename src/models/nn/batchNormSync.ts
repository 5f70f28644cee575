/**
 * Where batch normalisation gets statistics over every rank of a data-parallel run (SyncBatchNorm):
 * a blocking sum over the ranks (float64, so that the statistics are not rounded on the way),
 * installed by the runner when `runner.sync_bn` is on. Unset, batch norm uses each process's own batch.
 */
export type SumOverRanks = (data: Float64Array) => void;

let sumOverRanks: SumOverRanks | undefined;

export function setBatchNormSync(fn: SumOverRanks | undefined): void {
  sumOverRanks = fn;
}

export function batchNormSync(): SumOverRanks | undefined {
  return sumOverRanks;
}
