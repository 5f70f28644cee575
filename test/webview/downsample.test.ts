/** The pages' data structures, in Node: series store, min/max pyramid, EMA, chart groups, table sorting. */
import { describe, expect, test } from 'vitest';
import { chartGroups, comparisonCharts } from '../../webview/src/charts/chartGroups';
import { ema } from '../../webview/src/charts/ema';
import { lowerBound, mergeRows, MinMaxPyramid, nearestRow } from '../../webview/src/charts/minMaxPyramid';
import { MetricSplits } from '../../src/report/model/thinning';
import { sortedOrder } from '../../webview/src/components/dataTable';
import { rng } from './fixtures/syntheticRun';

describe('series store', () => {
  test('appends columns, back-fills metrics that appear later, grows past its capacity', () => {
    const run = new MetricSplits(1 << 16); // a cap above these rows: none left out
    run.append([{ split: 'train', length: 2, columns: { iter: Float64Array.of(1, 2), loss: Float64Array.of(3, 2) } }]);
    run.append([{ split: 'train', length: 1, columns: { iter: Float64Array.of(3), acc: Float64Array.of(0.5) } }]);
    const t = run.split('train')!;
    expect(t.length).toBe(3);
    expect(Array.from(t.values('loss'))).toEqual([3, 2, NaN]);
    expect(Array.from(t.values('acc'))).toEqual([NaN, NaN, 0.5]);
    const many = Float64Array.from({ length: 5000 }, (_v, i) => i);
    run.append([{ split: 'train', length: 5000, columns: { iter: many } }]);
    expect(t.length).toBe(5003);
    expect(t.values('iter')[5002]).toBe(4999);
    expect(t.version).toBe(3);
  });
});

describe('series store, bounded', () => {
  test('a million rows in batches keep at most the cap (the newest included); a page given the snapshot continues where the host was', () => {
    const cap = 1024;
    const batch = (from: number, n: number) => [
      { split: 'train', length: n, columns: { iter: Float64Array.from({ length: n }, (_v, i) => from + i + 1), loss: Float64Array.from({ length: n }, (_v, i) => 1 / (from + i + 1)) } },
    ];
    const host = new MetricSplits(cap);
    for (let at = 0; at < 400_000; at += 5000) host.append(batch(at, 5000));
    const page = new MetricSplits(cap);
    page.append(host.all().map((s) => s.toTable()));
    const fresh = new MetricSplits(cap);
    fresh.append(batch(0, 1_000_000));
    for (let at = 400_000; at < 1_000_000; at += 777) {
      const b = batch(at, Math.min(777, 1_000_000 - at));
      host.append(b);
      page.append(b);
    }
    const t = page.split('train')!;
    expect(t.length).toBeLessThanOrEqual(cap + 1);
    expect(t.rows).toBe(1_000_000);
    expect(t.values('iter')[t.length - 1]).toBe(1_000_000);
    expect(t.rewrites).toBeGreaterThan(0);
    expect(t.toTable()).toEqual(fresh.split('train')!.toTable());
    expect(host.split('train')!.toTable()).toEqual(fresh.split('train')!.toTable());
    // Evenly spread: consecutive kept iterations differ by the stride (but for the newest).
    const iters = Array.from(t.values('iter'));
    const gaps = new Set(iters.slice(1, -1).map((v, i) => v - iters[i]));
    expect(gaps.size).toBe(1);
  });
});

describe('min/max pyramid', () => {
  /** The brute-force answer: for each block of the chosen size, its min and max. */
  test('keeps every extreme: the min and max of any range are among the selected rows', () => {
    const r = rng(3);
    const n = 100_003;
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = Math.sin(i / 500) + (r() - 0.5) * 0.2 + (i % 9973 === 0 ? 5 : 0) + (i % 7 === 3 && r() < 0.01 ? NaN : 0);
    const p = new MinMaxPyramid();
    // Appended in uneven batches, as the follower delivers them.
    for (let at = 0; at < n; ) {
      const next = Math.min(n, at + 1 + Math.floor(r() * 3000));
      p.update(y, next);
      at = next;
    }
    for (const [lo, hi, buckets] of [
      [0, n, 800],
      [12_345, 67_890, 300],
      [500, 900, 100],
      [99_000, n, 64],
    ]) {
      const rows = p.select(y, lo, hi, buckets);
      expect(rows.length).toBeLessThanOrEqual(4 * buckets + 8);
      expect(rows[0]).toBe(lo);
      expect(rows[rows.length - 1]).toBe(hi - 1);
      for (let i = 1; i < rows.length; i++) expect(rows[i]).toBeGreaterThan(rows[i - 1]);
      let mn = Infinity;
      let mx = -Infinity;
      for (let i = lo; i < hi; i++) {
        if (!Number.isFinite(y[i])) continue;
        mn = Math.min(mn, y[i]);
        mx = Math.max(mx, y[i]);
      }
      const picked = Array.from(rows, (i) => y[i]).filter(Number.isFinite);
      expect(Math.min(...picked)).toBe(mn);
      expect(Math.max(...picked)).toBe(mx);
    }
    // Few rows: all of them.
    expect(Array.from(p.select(y, 10, 20, 100))).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  test('the same selection whether built at once or row by row', () => {
    const y = Float64Array.from({ length: 5000 }, (_v, i) => Math.cos(i * 0.37) * i);
    const a = new MinMaxPyramid();
    a.update(y);
    const b = new MinMaxPyramid();
    for (let i = 1; i <= y.length; i++) b.update(y, i);
    expect(Array.from(b.select(y, 0, 5000, 200))).toEqual(Array.from(a.select(y, 0, 5000, 200)));
  });

  test('binary search on x, nearest row, merging row lists', () => {
    const x = [0, 10, 10, 20, 30];
    const at = (i: number) => x[i];
    expect(lowerBound(at, 5, 10)).toBe(1);
    expect(lowerBound(at, 5, 11)).toBe(3);
    expect(lowerBound(at, 5, 99)).toBe(5);
    expect(nearestRow(at, 5, 24)).toBe(3);
    expect(nearestRow(at, 5, 26)).toBe(4);
    expect(nearestRow(at, 5, -5)).toBe(0);
    expect(Array.from(mergeRows([Int32Array.of(1, 4, 9), Int32Array.of(2, 4, 10)]))).toEqual([1, 2, 4, 9, 10]);
  });
});

describe('EMA smoothing', () => {
  test('TensorBoard debiased EMA, the same as a plain loop; NaN rows skipped', () => {
    const v = [1, 2, NaN, 4, 3, 5];
    const w = 0.6;
    const expected: number[] = [];
    let last = 0;
    let k = 0;
    for (const x of v) {
      if (Number.isNaN(x)) {
        expected.push(NaN);
        continue;
      }
      last = last * w + (1 - w) * x;
      k++;
      expected.push(last / (1 - w ** k));
    }
    const got = Array.from(ema(v, w));
    got.forEach((g, i) => (Number.isNaN(expected[i]) ? expect(g).toBeNaN() : expect(g).toBeCloseTo(expected[i], 12)));
    expect(got[0]).toBe(1);
    expect(Array.from(ema(v, 0))).toEqual(v);
    expect(() => ema(v, 1)).toThrow(/\[0, 1\)/);
  });
});

describe('chart groups', () => {
  test('a training run: loss first, eval splits together, timing and memory last', () => {
    const cols = new Map([
      ['train', ['time', 'epoch', 'iter', 'loss', 'loss_cls', 'lr', 'samples_per_s', 'iter_time', 'data_time', 'eta_s', 'elapsed_s', 'memory_gb', 'accuracy']],
      ['val', ['time', 'epoch', 'iter', 'accuracy_top1', 'accuracy_top5', 'eval_time']],
      ['benchmark', ['time', 'iter', 'knn_top1']],
    ]);
    expect(chartGroups(cols).map((g) => [g.id, g.keys])).toEqual([
      ['train:loss', ['loss', 'loss_cls']],
      ['train:lr', ['lr']],
      ['train:samples_per_s', ['samples_per_s']],
      ['val:*', ['accuracy_top1', 'accuracy_top5']],
      ['benchmark:*', ['knn_top1']],
      ['train:accuracy', ['accuracy']],
      ['train:timing', ['iter_time', 'data_time']],
      ['train:memory_gb', ['memory_gb']],
    ]);
    expect(chartGroups(cols).at(-1)).toMatchObject({ title: 'Memory (the process, resident)', yLabel: 'GB' });
    expect(comparisonCharts(cols).map((g) => g.id)).toEqual(['train:loss', 'train:loss_cls', 'train:lr', 'train:samples_per_s', 'val:accuracy_top1', 'val:accuracy_top5', 'benchmark:knn_top1', 'train:accuracy', 'train:iter_time', 'train:data_time', 'train:memory_gb']);
  });

  test('a metric named like a member of Object.prototype is titled by its name (underscores as spaces, as any)', () => {
    const cols = new Map([['train', ['iter', 'constructor', 'toString']], ['val', ['__proto__']]]);
    expect(chartGroups(cols).map((g) => [g.title, g.yLabel])).toEqual([
      ['Evaluation: val', '  proto  '],
      ['Training constructor', 'constructor'],
      ['Training toString', 'toString'],
    ]);
  });
});

describe('table sorting', () => {
  test('numbers as numbers, text naturally, empty cells last both ways, stable', () => {
    const rows = [['b', 10], ['a10', undefined], ['a2', 2], ['c', { value: 100, text: '100 ms' }], ['d', 2]];
    expect(sortedOrder(rows, { column: 1, descending: false })).toEqual([2, 4, 0, 3, 1]);
    expect(sortedOrder(rows, { column: 1, descending: true })).toEqual([3, 0, 2, 4, 1]);
    expect(sortedOrder(rows, { column: 0, descending: false })).toEqual([2, 1, 0, 3, 4]);
  });
});
