/**
 * Metrics as the panels hold them: one columnar table per split (`train`, `val`, `benchmark`, ...)
 * instead of one object per metrics.jsonl line, so that a run with a million lines travels to a
 * webview as a few typed arrays and appends are a copy, not a million small objects.
 *
 * Browser-safe (no Node imports): the extension host, the webviews and `cvw report` share it.
 */

/** One parsed metrics.jsonl line: `{time, epoch, iter, split, loss, lr, ...}`. */
export type MetricRecord = Record<string, unknown>;

/** The rows of one split, column by column; a value a row lacks is NaN. */
export interface MetricTable {
  split: string;
  length: number;
  columns: Record<string, Float64Array>;
  /** Present when the rows are a bounded sample of more rows read (thinning.ts). */
  thinned?: ThinnedInfo;
}

/**
 * What a thinned table stands for (thinning.ts MetricRows): the rows read, per kind of row (the
 * columns its rows have; none for the one stream of every further kind) in order of first
 * appearance, and the cap they were thinned under. Enough to continue thinning exactly.
 */
export interface ThinnedInfo {
  cap: number;
  rows: number;
  streams: Array<{ columns?: string[]; rows: number }>;
}

/** Numeric fields that are bookkeeping, not curves worth a chart of their own. */
export const BOOKKEEPING_COLUMNS = new Set<string>(['iter', 'epoch', 'time', 'eta_s', 'elapsed_s', 'eval_time']);

/** The split of a record: `train` when the line names none (older runs). */
export function splitOf(r: MetricRecord): string {
  return typeof r.split === 'string' && r.split ? r.split : 'train';
}

/** Group records by split into columnar tables (in order of first appearance). */
export function toMetricTables(records: readonly MetricRecord[]): MetricTable[] {
  const bySplit = new Map<string, MetricRecord[]>();
  for (const r of records) {
    const s = splitOf(r);
    let list = bySplit.get(s);
    if (!list) bySplit.set(s, (list = []));
    list.push(r);
  }
  return [...bySplit].map(([split, rows]) => tableOf(split, rows));
}

function tableOf(split: string, rows: readonly MetricRecord[]): MetricTable {
  const columns: Record<string, Float64Array> = {};
  const n = rows.length;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    for (const k in r) {
      const v = r[k];
      if (typeof v !== 'number') continue;
      let col = columns[k];
      if (!col) {
        col = columns[k] = new Float64Array(n);
        col.fill(NaN);
      }
      col[i] = v;
    }
  }
  return { split, length: n, columns };
}

/** Parse metrics.jsonl text; lines that are not JSON objects (a line being written) are skipped. */
export function parseMetricLines(text: string): MetricRecord[] {
  const out: MetricRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as MetricRecord);
    } catch {
      // a torn last line: the follower delivers it complete later
    }
  }
  return out;
}

/** The last finite value of a column, or undefined. */
export function lastFinite(col: Float64Array | undefined, length = col?.length ?? 0): number | undefined {
  if (!col) return undefined;
  for (let i = length - 1; i >= 0; i--) if (Number.isFinite(col[i])) return col[i];
  return undefined;
}

/** The finite extreme of a column (max, or min when `lowerIsBetter`) with its row, or undefined. */
export function bestOf(col: Float64Array | undefined, lowerIsBetter: boolean, length = col?.length ?? 0): { value: number; row: number } | undefined {
  if (!col) return undefined;
  let best: { value: number; row: number } | undefined;
  for (let i = 0; i < length; i++) {
    const v = col[i];
    if (!Number.isFinite(v)) continue;
    if (!best || (lowerIsBetter ? v < best.value : v > best.value)) best = { value: v, row: i };
  }
  return best;
}

/** Metrics whose smaller values are better (losses, errors, times); everything else is maximised. */
export function lowerIsBetter(metric: string): boolean {
  return /loss|error|err$|time|perplexity|^lr$|eta/i.test(metric);
}

/** A table as plain JSON (NaN as null), for files and standalone HTML. */
export interface MetricTableJson {
  split: string;
  length: number;
  columns: Record<string, Array<number | null>>;
  thinned?: ThinnedInfo;
}

export function tableToJson(t: MetricTable): MetricTableJson {
  const columns: Record<string, Array<number | null>> = {};
  for (const [k, col] of Object.entries(t.columns)) columns[k] = Array.from(col, (v) => (Number.isFinite(v) ? v : null));
  return t.thinned ? { split: t.split, length: t.length, columns, thinned: t.thinned } : { split: t.split, length: t.length, columns };
}

export function tableFromJson(t: MetricTableJson): MetricTable {
  const columns: Record<string, Float64Array> = {};
  for (const [k, col] of Object.entries(t.columns)) columns[k] = Float64Array.from(col, (v) => (v === null ? NaN : v));
  return t.thinned ? { split: t.split, length: t.length, columns, thinned: t.thinned } : { split: t.split, length: t.length, columns };
}

