/**
 * Bounded metric rows (src/report/model/thinning.ts): a run that logs every iteration for millions
 * of iterations is kept as a few thousand evenly spread rows per split and kind of row, the newest
 * always, rare rows and evaluation splits whole; the same rows whether read at once, in batches,
 * or as a snapshot continued with batches (the host's feed, then the page).
 */
import { describe, expect, test } from 'vitest';
import { toMetricTables, type MetricRecord, type MetricTable } from '../../src/report/model/metrics';
import { MetricRows, MetricSplits, METRIC_ROW_CAP, strideFor, thinTables } from '../../src/report/model/thinning';

/** Train rows every iteration, a `skipped_items` row every 1000th, a val row every 500th. */
function run(n: number, from = 0): MetricRecord[] {
  const out: MetricRecord[] = [];
  for (let i = from; i < from + n; i++) {
    const iter = i + 1;
    out.push({ time: 1000 + iter, epoch: 1 + Math.floor(i / 1000), iter, split: 'train', loss: 5 / (1 + i / 100) + (i % 7) * 0.01, lr: 0.1 });
    if (iter % 1000 === 0) out.push({ time: 1000 + iter, epoch: 1 + Math.floor(i / 1000), iter, split: 'train', skipped_items: iter / 1000 });
    if (iter % 500 === 0) out.push({ time: 1000 + iter, epoch: 1 + Math.floor(i / 1000), iter, split: 'val', accuracy_top1: iter / (iter + 1000) });
  }
  return out;
}

/** Feed `records` in batches of random sizes (seeded), as the follower delivers them. */
function inBatches(records: MetricRecord[], cap: number, seed = 1): MetricSplits {
  const splits = new MetricSplits(cap);
  let s = seed;
  for (let at = 0; at < records.length; ) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (s % 700);
    splits.append(toMetricTables(records.slice(at, at + n)));
    at += n;
  }
  return splits;
}

const col = (t: MetricTable | undefined, k: string) => Array.from(t?.columns[k] ?? []);

describe('thinning metric rows', () => {
  test('the stride is the smallest power of two that keeps at most cap ordinals', () => {
    expect(strideFor(0, 100)).toBe(1);
    expect(strideFor(100, 100)).toBe(1);
    expect(strideFor(101, 100)).toBe(2);
    expect(strideFor(200, 100)).toBe(2);
    expect(strideFor(201, 100)).toBe(4);
    expect(strideFor(1_204_000, 4096)).toBe(512);
    expect(METRIC_ROW_CAP).toBeGreaterThanOrEqual(2000);
    expect(METRIC_ROW_CAP).toBeLessThanOrEqual(5000);
  });

  test('after many appends the cap holds, every k-th iteration is kept, the newest too; rare rows and eval rows stay whole', () => {
    const cap = 256;
    const records = run(100_003);
    const splits = inBatches(records, cap);
    const train = splits.split('train')!;
    expect(train.rows).toBe(100_003 + 100);
    // The frequent kind: cap/2 to cap rows on the stride, plus the newest.
    const stride = strideFor(100_003, cap);
    expect(stride).toBe(512);
    const t = train.toTable();
    const loss = col(t, 'loss');
    const iters = col(t, 'iter').filter((_v, i) => Number.isFinite(loss[i]));
    expect(iters.length).toBeLessThanOrEqual(cap + 1);
    expect(iters.length).toBeGreaterThan(cap / 2);
    // Ordinal o is iteration o + 1: iterations 1, 1 + k, 1 + 2k, ..., and the last one.
    const expected: number[] = [];
    for (let o = 0; o < 100_003; o += stride) expected.push(o + 1);
    if (expected[expected.length - 1] !== 100_003) expected.push(100_003);
    expect(iters).toEqual(expected);
    // The rows are exactly the ones read: loss at iteration 1 + k*j as written.
    const byIter = new Map(records.filter((r) => r.split === 'train' && 'loss' in r).map((r) => [r.iter as number, r.loss as number]));
    const keptLoss = loss.filter(Number.isFinite);
    expect(keptLoss).toEqual(iters.map((it) => byIter.get(it)));
    expect(keptLoss[keptLoss.length - 1]).toBe(byIter.get(100_003));
    // skipped_items: once every 1000 iterations, its own kind, under the cap: all of them.
    expect(col(t, 'skipped_items').filter(Number.isFinite)).toEqual(Array.from({ length: 100 }, (_v, i) => i + 1));
    // The eval split: 200 rows, under the cap, all of them.
    const val = splits.split('val')!.toTable();
    expect(val.length).toBe(200);
    expect(val.thinned).toBeUndefined();
    // What the table stands for.
    expect(t.thinned).toEqual({
      cap,
      rows: 100_103,
      streams: [{ columns: ['epoch', 'iter', 'loss', 'lr', 'time'], rows: 100_003 }, { columns: ['epoch', 'iter', 'skipped_items', 'time'], rows: 100 }],
      counts: { time: 100_103, epoch: 100_103, iter: 100_103, loss: 100_003, lr: 100_003, skipped_items: 100 },
    });
    // A chart of a column counts that column's rows: skipped_items keeps all 100 of its own.
    expect([train.rowsWith('skipped_items'), train.keptWith('skipped_items')]).toEqual([100, 100]);
    expect(train.rowsWith('loss')).toBe(100_003);
    expect(train.keptWith('loss')).toBe(iters.length);
    expect([train.rowsWith('absent'), train.keptWith('absent')]).toEqual([0, 0]);
    // Counted once per version, and again after an append.
    train.append(toMetricTables([{ split: 'train', iter: 100_004, skipped_items: 101, absent: 1 }])[0]);
    expect([train.rowsWith('skipped_items'), train.keptWith('skipped_items')]).toEqual([101, 101]);
    expect([train.rowsWith('absent'), train.keptWith('absent')]).toEqual([1, 1]);
  });

  test('an eval split past the cap is thinned too, the newest kept: memory stays bounded', () => {
    const rows = new MetricRows('val', 64);
    for (let i = 0; i < 1000; i++) rows.append(toMetricTables([{ split: 'val', iter: i, acc: i }])[0]);
    expect(rows.length).toBeLessThanOrEqual(65);
    expect(rows.values('iter')[rows.length - 1]).toBe(999);
  });

  test('batches of any size give what one read gives, and a snapshot continued with batches does too', () => {
    const cap = 128;
    const records = run(30_001);
    const once = thinTables(toMetricTables(records), cap);
    for (const seed of [1, 2, 3]) expect(inBatches(records, cap, seed).tables()).toEqual(once);
    // One row at a time.
    const single = new MetricSplits(cap);
    for (const r of records.slice(0, 5000)) single.append(toMetricTables([r]));
    expect(single.tables()).toEqual(thinTables(toMetricTables(records.slice(0, 5000)), cap));
    // The host thins the first part, its snapshot goes to the page, both get the rest in batches.
    for (const cut of [1, 127, 128, 129, 4000, 17_777]) {
      const host = inBatches(records.slice(0, cut), cap);
      // The page's cap is the host's (one constant); a thinned snapshot carries it anyway.
      const page = new MetricSplits(host.split('train')!.thinned ? undefined : cap);
      page.append(host.tables());
      for (let at = cut; at < records.length; at += 333) {
        const batch = toMetricTables(records.slice(at, at + 333));
        host.append(batch);
        page.append(batch);
      }
      expect(page.tables()).toEqual(once);
      expect(host.tables()).toEqual(once);
    }
  });

  test('a table whose state does not add up is read as plain rows', () => {
    const t = thinTables(toMetricTables(run(1000)), 64).find((x) => x.split === 'train')!;
    const broken: MetricTable = { ...t, thinned: { ...t.thinned!, rows: t.thinned!.rows + 1 } };
    const rows = new MetricRows('train', 64);
    rows.append(broken);
    expect(rows.rows).toBe(t.length);
    expect(rows.length).toBeLessThanOrEqual(2 * 65);
  });

  test('a column that appears later is NaN before it; dropped rows bump rewrites, plain appends do not', () => {
    const rows = new MetricRows('train', 4);
    rows.append({ split: 'train', length: 2, columns: { iter: Float64Array.of(1, 2), loss: Float64Array.of(3, 2) } });
    rows.append({ split: 'train', length: 2, columns: { iter: Float64Array.of(3, 4), loss: Float64Array.of(1, 1), acc: Float64Array.of(NaN, 0.5) } });
    expect(rows.rewrites).toBe(0);
    expect(Array.from(rows.values('acc'))).toEqual([NaN, NaN, NaN, 0.5]);
    // Iteration 4 is a kind of its own (it has acc). The iter/loss kind: iterations 1, 2, 3, 5, 6 are
    // its ordinals 0 to 4; five pass the cap of 4, stride 2 keeps ordinals 0, 2, 4: iterations 1, 3, 6.
    rows.append({ split: 'train', length: 2, columns: { iter: Float64Array.of(5, 6), loss: Float64Array.of(1, 1) } });
    expect(Array.from(rows.values('iter'))).toEqual([1, 3, 4, 6]);
    expect(rows.rewrites).toBeGreaterThan(0);
  });
});
