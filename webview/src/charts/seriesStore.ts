/**
 * The page's copy of a run's metrics: per split, growable columns (capacity doubling) that rows
 * are appended to as metrics.jsonl grows. A column that appears later (a new metric) is filled
 * with NaN for the rows before it.
 */
import type { MetricTable } from '../../../src/report/model/metrics';

export class GrowableColumn {
  private buf: Float64Array;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Float64Array(Math.max(16, capacity));
  }

  /** The values so far (a view; valid until the next append). */
  get values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }

  at(i: number): number {
    return this.buf[i];
  }

  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    let cap = this.buf.length;
    while (cap < n) cap *= 2;
    const next = new Float64Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  push(values: ArrayLike<number>): void {
    this.reserve(this.length + values.length);
    this.buf.set(values as ArrayLike<number>, this.length);
    this.length += values.length;
  }

  pushFill(value: number, count: number): void {
    this.reserve(this.length + count);
    this.buf.fill(value, this.length, this.length + count);
    this.length += count;
  }
}

/** One split's rows (`train`, `val`, ...), column by column. */
export class SplitSeries {
  length = 0;
  private readonly cols = new Map<string, GrowableColumn>();
  /** Bumped on every append, so views can tell they are stale. */
  version = 0;

  constructor(readonly split: string) {}

  keys(): string[] {
    return [...this.cols.keys()];
  }

  has(key: string): boolean {
    return this.cols.has(key);
  }

  column(key: string): GrowableColumn | undefined {
    return this.cols.get(key);
  }

  /** The values of `key` (NaN where a row lacks it); empty when no row has it. */
  values(key: string): Float64Array {
    return this.cols.get(key)?.values ?? new Float64Array(0);
  }

  append(table: MetricTable): void {
    if (table.length === 0) return;
    for (const [key, col] of Object.entries(table.columns)) {
      let c = this.cols.get(key);
      if (!c) {
        c = new GrowableColumn(Math.max(256, (this.length + table.length) * 2));
        c.pushFill(NaN, this.length);
        this.cols.set(key, c);
      }
      c.push(col.length === table.length ? col : col.subarray(0, table.length));
    }
    const n = this.length + table.length;
    for (const c of this.cols.values()) if (c.length < n) c.pushFill(NaN, n - c.length);
    this.length = n;
    this.version++;
  }
}

/** A run's splits. */
export class RunSeries {
  private readonly splits = new Map<string, SplitSeries>();

  split(name: string): SplitSeries | undefined {
    return this.splits.get(name);
  }

  all(): SplitSeries[] {
    return [...this.splits.values()];
  }

  append(tables: readonly MetricTable[]): void {
    for (const t of tables) {
      let s = this.splits.get(t.split);
      if (!s) this.splits.set(t.split, (s = new SplitSeries(t.split)));
      s.append(t);
    }
  }

  /** Total rows over every split. */
  get rows(): number {
    let n = 0;
    for (const s of this.splits.values()) n += s.length;
    return n;
  }
}
