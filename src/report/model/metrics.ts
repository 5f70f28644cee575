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
 * appearance, and the cap they were thinned under (before capFor lowers it for a wide split).
 * Enough to continue thinning exactly.
 */
export interface ThinnedInfo {
  cap: number;
  rows: number;
  streams: Array<{ columns?: string[]; rows: number }>;
  /** Rows read with a value, per column (a chart of a rare column counts its own rows). */
  counts: Record<string, number>;
}

/** Numeric fields that are bookkeeping, not curves worth a chart of their own. */
export const BOOKKEEPING_COLUMNS = new Set<string>(['iter', 'epoch', 'time', 'eta_s', 'elapsed_s', 'eval_time']);

/** The split of a record: `train` when the line names none (older runs). */
export function splitOf(r: MetricRecord): string {
  return typeof r.split === 'string' && r.split ? r.split : 'train';
}

/** Splits a run's metrics are kept for (train, val, benchmark, test, ...); lines of further ones are left out. */
export const MAX_METRIC_SPLITS = 16;

/**
 * Columns kept per split, in order of first appearance. Above the widest split the toolkit writes
 * (a segmentation evaluation's IoU.<class> of ADE20K's 150 or COCO-Stuff's 171 classes, plus the
 * mean metrics), and below what a hand-made metrics.jsonl with a new key on every line would cost:
 * every kept row holds a value of every column of its split.
 */
export const MAX_METRIC_COLUMNS = 256;

/**
 * Which splits and columns of a run are kept: the first MAX_METRIC_SPLITS splits and the first
 * MAX_METRIC_COLUMNS numeric keys of each, in the order the lines bring them, so that every reader
 * of the same file (the dashboard's feed and its page, the runs table, `cvw report`) keeps the same
 * ones whatever its batches. `leftOut` counts the numeric values of the others.
 */
export class MetricKeys {
  private readonly splits = new Map<string, Set<string>>();
  leftOut = 0;

  /** The kept columns of `split` (admitting it while there is room), or undefined when it is left out. */
  columnsOf(split: string): Set<string> | undefined {
    let cols = this.splits.get(split);
    if (!cols && this.splits.size < MAX_METRIC_SPLITS) this.splits.set(split, (cols = new Set()));
    return cols;
  }

  /** Whether `key` of `split` is kept (admitting it while there is room); counts what is not. */
  admits(split: string, key: string): boolean {
    // `__proto__` would be an object's prototype, not a column, wherever columns are keyed by name.
    const cols = key === '__proto__' ? undefined : this.columnsOf(split);
    if (cols && (cols.has(key) || (cols.size < MAX_METRIC_COLUMNS && cols.add(key)))) return true;
    this.leftOut++;
    return false;
  }
}

/** What the panels say of `leftOut` values (MetricKeys.leftOut): empty when none. */
export function leftOutNote(leftOut: number | undefined): string {
  if (!leftOut) return '';
  return `metrics.jsonl has more than ${MAX_METRIC_SPLITS} splits or more than ${MAX_METRIC_COLUMNS} metrics in a split: the first ones are shown, ${leftOut.toLocaleString('en-US')} values of the others are not`;
}

/**
 * Values held per table before a split's rows continue in another table: a batch of half a million
 * short lines under a split of 256 columns stays a few MiB at a time instead of a gigabyte.
 */
const TABLE_CELLS = 1 << 20;

/**
 * Group records by split into columnar tables (in order of first appearance; a split's rows may
 * come as several tables, in order). `keys` decides which splits and columns are kept: pass the
 * reader's own across the batches of one file.
 */
export function toMetricTables(records: readonly MetricRecord[], keys = new MetricKeys()): MetricTable[] {
  const bySplit = new Map<string, MetricRecord[]>();
  for (const r of records) {
    const s = splitOf(r);
    let list = bySplit.get(s);
    if (!list) {
      if (!keys.columnsOf(s)) {
        // A split past MAX_METRIC_SPLITS: admits refuses and counts each of its values.
        for (const k in r) if (typeof r[k] === 'number') keys.admits(s, k);
        continue;
      }
      bySplit.set(s, (list = []));
    }
    list.push(r);
  }
  return [...bySplit].flatMap(([split, rows]) => tablesOf(split, rows, keys));
}

/** The rows of one split as tables of at most about TABLE_CELLS values each. */
function tablesOf(split: string, rows: readonly MetricRecord[], keys: MetricKeys): MetricTable[] {
  const out: MetricTable[] = [];
  // Rows [from, i) and the kept keys they have: a table is cut before a row that would take it
  // past the budget, so its dense columns never hold more than about TABLE_CELLS values.
  let from = 0;
  let names = new Set<string>();
  const flush = (to: number) => {
    if (to > from) out.push(tableOf(split, rows, from, to, [...names]));
    from = to;
    names = new Set();
  };
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const mine: string[] = [];
    let grown = names.size;
    for (const k in r) {
      if (typeof r[k] !== 'number' || !keys.admits(split, k)) continue;
      mine.push(k);
      if (!names.has(k)) grown++;
    }
    if (i > from && (i + 1 - from) * grown > TABLE_CELLS) flush(i);
    for (const k of mine) names.add(k);
  }
  flush(rows.length);
  return out;
}

function tableOf(split: string, rows: readonly MetricRecord[], from: number, to: number, names: readonly string[]): MetricTable {
  const n = to - from;
  const byName = new Map(names.map((k) => [k, new Float64Array(n).fill(NaN)]));
  for (let i = 0; i < n; i++) {
    const r = rows[from + i];
    for (const k in r) {
      const v = r[k];
      if (typeof v === 'number') {
        const col = byName.get(k);
        if (col) col[i] = v;
      }
    }
  }
  return { split, length: n, columns: Object.fromEntries(byName) };
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

/** Metrics whose smaller values are better (losses, errors, times, memory); everything else is maximised. */
export function lowerIsBetter(metric: string): boolean {
  return /loss|error|err$|time|perplexity|^lr$|eta|memory/i.test(metric);
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

