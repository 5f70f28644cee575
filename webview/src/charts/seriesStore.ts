/**
 * The page's copy of a run's metrics: per split, growable columns that rows are appended to as
 * metrics.jsonl grows. A column that appears later (a new metric) is filled with NaN for the rows
 * before it. Bounded as the host's copy is (src/report/model/thinning.ts): past a few thousand
 * rows of a kind, every other kept row is dropped and the newest always kept, exactly as the host
 * did before its snapshot, so the page and a fresh read show the same rows.
 */
import type { MetricTable } from '../../../src/report/model/metrics';
import { MetricRows } from '../../../src/report/model/thinning';

export { GrowableColumn } from '../../../src/report/model/thinning';

/** One split's rows (`train`, `val`, ...), column by column. */
export class SplitSeries extends MetricRows {}

/** A run's splits. */
export class RunSeries {
  private readonly splits = new Map<string, SplitSeries>();

  constructor(private readonly cap?: number) {}

  split(name: string): SplitSeries | undefined {
    return this.splits.get(name);
  }

  all(): SplitSeries[] {
    return [...this.splits.values()];
  }

  append(tables: readonly MetricTable[]): void {
    for (const t of tables) {
      let s = this.splits.get(t.split);
      if (!s) this.splits.set(t.split, (s = new SplitSeries(t.split, this.cap)));
      s.append(t);
    }
  }

  /** Total rows kept over every split. */
  get rows(): number {
    let n = 0;
    for (const s of this.splits.values()) n += s.length;
    return n;
  }

  /** Total rows read over every split (kept or not). */
  get rowsRead(): number {
    let n = 0;
    for (const s of this.splits.values()) n += s.rows;
    return n;
  }
}
