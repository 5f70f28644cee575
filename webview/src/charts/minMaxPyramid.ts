/**
 * Downsampling for drawing without losing peaks: level k of the pyramid holds, for every block of
 * 2^k consecutive rows, the row of the block's smallest and of its largest value. Drawing a range
 * of rows into B pixel columns picks the level whose blocks are about one pixel wide and emits
 * each block's min and max rows (M4-like) — at most ~4B points however many rows there are, and
 * every spike still drawn. The data itself stays exact: hover reads the full columns.
 *
 * Appending a row updates one block per level: O(log n). A million rows cost 2n int32 (8 MB).
 */

class Int32Growable {
  buf = new Int32Array(64).fill(-1);
  ensure(n: number): void {
    if (n <= this.buf.length) return;
    let cap = this.buf.length;
    while (cap < n) cap *= 2;
    const next = new Int32Array(cap).fill(-1);
    next.set(this.buf);
    this.buf = next;
  }
}

export class MinMaxPyramid {
  /** levels[k-1] covers blocks of 2^k rows (level 0, the rows themselves, needs no storage). */
  private readonly mins: Int32Growable[] = [];
  private readonly maxs: Int32Growable[] = [];
  /** Rows indexed so far. */
  length = 0;

  /**
   * Index rows `[length, n)` of `y` (NaN rows are skipped; a block of only NaN keeps -1). Bottom
   * up: level 1 from the rows, level k from the two blocks of level k-1 below each of its blocks,
   * touching only the blocks the new rows fall in — O(new rows + log n).
   */
  update(y: Float64Array, n = y.length): void {
    const from = this.length;
    if (n <= from) return;
    for (let k = 1; k === 1 || 1 << (k - 1) < n; k++) {
      const fresh = this.mins.length < k;
      if (fresh) {
        this.mins.push(new Int32Growable());
        this.maxs.push(new Int32Growable());
      }
      const mins = this.mins[k - 1];
      const maxs = this.maxs[k - 1];
      // A level that did not exist yet covers the rows indexed before it too.
      const bFrom = fresh ? 0 : from >> k;
      const bTo = (n - 1) >> k;
      mins.ensure(bTo + 1);
      maxs.ensure(bTo + 1);
      const mn = mins.buf;
      const mx = maxs.buf;
      if (k === 1) {
        for (let b = bFrom; b <= bTo; b++) {
          const a = 2 * b;
          const c = a + 1;
          const va = y[a];
          const vc = c < n ? y[c] : NaN;
          const fa = va === va; // not NaN
          const fc = vc === vc;
          if (fa && fc) {
            mn[b] = vc < va ? c : a;
            mx[b] = vc > va ? c : a;
          } else if (fa) mn[b] = mx[b] = a;
          else if (fc) mn[b] = mx[b] = c;
          else mn[b] = mx[b] = -1;
        }
      } else {
        const cmn = this.mins[k - 2].buf;
        const cmx = this.maxs[k - 2].buf;
        const childBlocks = ((n - 1) >> (k - 1)) + 1;
        for (let b = bFrom; b <= bTo; b++) {
          const l = 2 * b;
          const r = l + 1 < childBlocks ? l + 1 : -1;
          const lmn = cmn[l];
          const rmn = r >= 0 ? cmn[r] : -1;
          mn[b] = lmn < 0 ? rmn : rmn < 0 ? lmn : y[rmn] < y[lmn] ? rmn : lmn;
          const lmx = cmx[l];
          const rmx = r >= 0 ? cmx[r] : -1;
          mx[b] = lmx < 0 ? rmx : rmx < 0 ? lmx : y[rmx] > y[lmx] ? rmx : lmx;
        }
      }
    }
    this.length = n;
  }

  /** Forget everything (the values changed, e.g. a new smoothing weight). */
  reset(): void {
    this.mins.length = 0;
    this.maxs.length = 0;
    this.length = 0;
  }

  /**
   * Rows to draw for rows `[lo, hi)` in about `buckets` pixel columns: ascending, unique, always
   * including the first and last row of the range. All rows when there are few.
   */
  select(y: Float64Array, lo: number, hi: number, buckets: number): Int32Array {
    lo = Math.max(0, lo);
    hi = Math.min(hi, this.length);
    const count = hi - lo;
    if (count <= 0) return new Int32Array(0);
    if (count <= 2 * buckets) {
      const all = new Int32Array(count);
      for (let i = 0; i < count; i++) all[i] = lo + i;
      return all;
    }
    let k = Math.max(1, Math.ceil(Math.log2(count / buckets)));
    k = Math.min(k, this.mins.length);
    const size = 1 << k;
    const out: number[] = [lo];
    const firstFull = Math.ceil(lo / size);
    const lastFull = Math.floor(hi / size); // exclusive
    // Partial blocks at both ends are scanned row by row (at most 2 blocks).
    const scan = (a: number, b: number) => {
      let mn = -1;
      let mx = -1;
      for (let i = a; i < b; i++) {
        const v = y[i];
        if (!Number.isFinite(v)) continue;
        if (mn < 0 || v < y[mn]) mn = i;
        if (mx < 0 || v > y[mx]) mx = i;
      }
      pushPair(out, mn, mx);
    };
    if (firstFull >= lastFull) {
      scan(lo, hi);
    } else {
      scan(lo, firstFull * size);
      const mins = this.mins[k - 1].buf;
      const maxs = this.maxs[k - 1].buf;
      for (let b = firstFull; b < lastFull; b++) pushPair(out, mins[b], maxs[b]);
      scan(lastFull * size, hi);
    }
    out.push(hi - 1);
    return uniqueSorted(out);
  }
}

function pushPair(out: number[], a: number, b: number): void {
  if (a < 0) return;
  if (a === b) out.push(a);
  else if (a < b) out.push(a, b);
  else out.push(b, a);
}

function uniqueSorted(rows: number[]): Int32Array {
  const arr = Int32Array.from(rows).sort();
  let w = 0;
  for (let i = 0; i < arr.length; i++) if (i === 0 || arr[i] !== arr[w - 1]) arr[w++] = arr[i];
  return arr.subarray(0, w);
}

/** Merge ascending unique row lists into one (for charts whose lines share rows). */
export function mergeRows(lists: readonly Int32Array[]): Int32Array {
  if (lists.length === 1) return lists[0];
  let total = 0;
  for (const l of lists) total += l.length;
  const all = new Int32Array(total);
  let o = 0;
  for (const l of lists) {
    all.set(l, o);
    o += l.length;
  }
  all.sort();
  let w = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[w - 1]) all[w++] = all[i];
  return all.subarray(0, w);
}

/** First row whose x ≥ `value` in rows [0, n) of a non-decreasing `xAt` (n when none). */
export function lowerBound(xAt: (i: number) => number, n: number, value: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = xAt(mid);
    // NaN x (a row without this x) sorts before everything: rows without time come first.
    if (x < value || Number.isNaN(x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The row whose x is nearest `value` (finite y preferred within a few rows), or -1. */
export function nearestRow(xAt: (i: number) => number, n: number, value: number): number {
  if (n === 0) return -1;
  const i = lowerBound(xAt, n, value);
  if (i <= 0) return 0;
  if (i >= n) return n - 1;
  return Math.abs(xAt(i) - value) < Math.abs(xAt(i - 1) - value) ? i : i - 1;
}
