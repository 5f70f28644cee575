/**
 * Benchmark results as the benchmarks panel lists them: one entry per `<run>/benchmarks/<name>.json`
 * written by `cvw benchmark knn|linear` (src/eval/benchmark.ts), with the run's algorithm and
 * backbone beside it — the rows of an EasyCV-style model-zoo table. Browser-safe.
 */

export interface BenchmarkEntry {
  /** The run directory, the result file. */
  run: string;
  file: string;
  runId: string;
  configStem: string;
  /** `model.type` and `model.backbone.type` of the run's config (SimCLR, ResNet). */
  algorithm?: string;
  backbone?: string;
  /** `knn`, `linear`, `linear_pool2` (features pooled to a 2x2 grid), ... */
  benchmark: string;
  /** `knn_top1`, `knn_top5`, `linear_top1`, ... (fractions 0-1). */
  metrics: Record<string, number>;
  /** Settings that shape the number (k, temperature, epochs, lr, weights). */
  settings: Record<string, string | number>;
  featureDim?: number;
  iter?: number;
  epoch?: number;
  trainCount?: number;
  testCount?: number;
  /** When it was measured (ISO). */
  time?: string;
}

const SETTING_KEYS = ['k', 'temperature', 'epochs', 'batch_size', 'lr', 'weight_decay', 'weights', 'pool'];

/** An entry from one result file's JSON (undefined when it is not a benchmark result). */
export function benchmarkEntry(
  file: string,
  json: unknown,
  run: { dir: string; id: string; configStem: string; config?: Record<string, unknown> },
): BenchmarkEntry | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const r = json as Record<string, unknown>;
  const metrics = r.metrics;
  if (!metrics || typeof metrics !== 'object') return undefined;
  const numeric = Object.fromEntries(Object.entries(metrics as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number'));
  const name = typeof r.benchmark === 'string' ? r.benchmark : file.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
  const settings: Record<string, string | number> = {};
  for (const k of SETTING_KEYS) if (typeof r[k] === 'number' || typeof r[k] === 'string') settings[k] = r[k] as string | number;
  const model = run.config?.model as Record<string, unknown> | undefined;
  const count = (v: unknown) => (v && typeof v === 'object' && typeof (v as { count?: unknown }).count === 'number' ? (v as { count: number }).count : undefined);
  return {
    run: run.dir,
    file,
    runId: run.id,
    configStem: run.configStem,
    algorithm: typeof model?.type === 'string' ? model.type : undefined,
    backbone: typeof (model?.backbone as Record<string, unknown> | undefined)?.type === 'string' ? ((model!.backbone as Record<string, unknown>).type as string) : undefined,
    benchmark: name,
    metrics: numeric,
    settings,
    featureDim: typeof r.feature_dim === 'number' ? r.feature_dim : undefined,
    iter: typeof r.iter === 'number' ? r.iter : undefined,
    epoch: typeof r.epoch === 'number' ? r.epoch : undefined,
    trainCount: count(r.train),
    testCount: count(r.test),
    time: typeof r.time === 'string' ? r.time : undefined,
  };
}
