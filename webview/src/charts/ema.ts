/**
 * Exponential moving average as TensorBoard smooths scalars: `s_t = w·s_{t-1} + (1-w)·v_t`,
 * divided by `1 - w^n` (debiasing, so the first points are not pulled towards 0). Missing values
 * (NaN) stay missing and do not move the average. Incremental: appending rows costs O(new rows).
 */
import { GrowableColumn } from '../../../src/report/model/thinning';

export class EmaColumn {
  readonly out = new GrowableColumn();
  private last = 0;
  /** w^n after n finite values (the debiasing term is 1 - w^n). */
  private power = 1;

  constructor(readonly weight: number) {
    if (!(weight >= 0 && weight < 1)) throw new Error(`smoothing weight must be in [0, 1), got ${weight}`);
  }

  /** Smooth `source[out.length .. n)`. */
  update(source: Float64Array, n = source.length): void {
    const from = this.out.length;
    if (n <= from) return;
    const w = this.weight;
    const chunk = new Float64Array(n - from);
    for (let i = from; i < n; i++) {
      const v = source[i];
      if (!Number.isFinite(v)) {
        chunk[i - from] = NaN;
        continue;
      }
      this.last = this.last * w + (1 - w) * v;
      this.power *= w;
      chunk[i - from] = this.last / (1 - this.power);
    }
    this.out.push(chunk);
  }

  get values(): Float64Array {
    return this.out.values;
  }
}

/** The whole smoothed series at once (for tests and one-off use). */
export function ema(values: ArrayLike<number>, weight: number): Float64Array {
  const c = new EmaColumn(weight);
  c.update(Float64Array.from(values));
  return c.values.slice();
}
