/**
 * A metrics.jsonl that is not the trainer's (a cloned workspace, a hand-made file) costs the
 * panels a bounded amount whatever it holds: the first MAX_METRIC_SPLITS splits and the first
 * MAX_METRIC_COLUMNS numeric keys of each are kept (src/report/model/metrics.ts MetricKeys), a
 * batch's tables stay small, a wide split keeps fewer rows per kind (thinning.ts capFor), and every
 * reader keeps the same ones whatever its batches.
 */
import { describe, expect, test } from 'vitest';
import { summarizeMetrics } from '../../src/extension/panels/runsTableModel';
import { leftOutNote, MAX_METRIC_COLUMNS, MAX_METRIC_SPLITS, MetricKeys, toMetricTables, type MetricRecord } from '../../src/report/model/metrics';
import { capFor, METRIC_CELLS, METRIC_ROW_CAP, MetricSplits } from '../../src/report/model/thinning';

/** Line i: a new key `k<i>` on every line, in one of `splits` splits, with the usual bookkeeping. */
function hostile(n: number, splits: number, from = 0): MetricRecord[] {
  return Array.from({ length: n }, (_v, j) => {
    const i = from + j;
    return { iter: i, split: `s${i % splits}`, loss: 1 / (1 + i), [`k${i}`]: i };
  });
}

/** Numeric values of `records` that a reader keeps, counted from the rule itself. */
function expectedLeftOut(records: MetricRecord[]): number {
  const splits = new Map<string, Set<string>>();
  let out = 0;
  for (const r of records) {
    const split = typeof r.split === 'string' && r.split ? r.split : 'train';
    if (!splits.has(split) && splits.size < MAX_METRIC_SPLITS) splits.set(split, new Set());
    const cols = splits.get(split);
    for (const [k, v] of Object.entries(r)) {
      if (typeof v !== 'number') continue;
      if (cols && (cols.has(k) || cols.size < MAX_METRIC_COLUMNS)) cols.add(k);
      else out++;
    }
  }
  return out;
}

function feed(records: MetricRecord[], sizes: number[]): MetricSplits {
  const splits = new MetricSplits();
  for (let at = 0, b = 0; at < records.length; b++) {
    const n = sizes[b % sizes.length];
    splits.appendRecords(records.slice(at, at + n));
    at += n;
  }
  return splits;
}

describe('bounds on what a metrics.jsonl costs', () => {
  test('a new key on every line and 40 splits: 16 splits of 256 columns are kept, the rest counted as left out', () => {
    const records = hostile(60_000, 40);
    const splits = feed(records, [4096]);
    const all = splits.all();
    expect(all.map((r) => r.split)).toEqual(Array.from({ length: MAX_METRIC_SPLITS }, (_v, i) => `s${i}`));
    for (const r of all) expect(r.keys().length).toBe(MAX_METRIC_COLUMNS);
    // The first columns of a split are kept: s3's are iter, loss and k3, k43, k83, ...
    expect(splits.split('s3')!.keys().slice(0, 5)).toEqual(['iter', 'loss', 'k3', 'k43', 'k83']);
    expect(splits.leftOut).toBe(expectedLeftOut(records));
    expect(splits.leftOut).toBeGreaterThan(100_000);
    // Every row of a kept split is kept as a row (its kept columns), the stream's newest too.
    const s3 = splits.split('s3')!;
    expect(s3.rows).toBe(1500);
    expect(s3.values('iter')[s3.length - 1]).toBe(59_963);
    // Each split's kept values are bounded by the cell budget, not by the file.
    for (const r of all) expect(r.length * r.keys().length).toBeLessThanOrEqual(2 * METRIC_CELLS);
  });

  test('which splits and columns are kept does not depend on the batches, nor on a snapshot continued by another reader', () => {
    const records = hostile(20_000, 20);
    const once = feed(records, [records.length]);
    for (const sizes of [[1, 7, 300], [5000], [333, 2]]) {
      const fed = feed(records, sizes);
      expect(fed.tables()).toEqual(once.tables());
      expect(fed.leftOut).toBe(once.leftOut);
    }
    // The host's feed reads a part, its page continues from the snapshot with the tables the host sends.
    for (const cut of [100, 4321, 15_000]) {
      const host = new MetricSplits();
      host.appendRecords(records.slice(0, cut));
      const page = new MetricSplits();
      page.append(host.tables());
      for (let at = cut; at < records.length; at += 777) page.append(host.appendRecords(records.slice(at, at + 777)));
      expect(host.tables()).toEqual(once.tables());
      expect(page.tables()).toEqual(once.tables());
    }
  });

  test('a wide split keeps fewer rows per kind as its columns arrive; the same rows in any batches', () => {
    // Row 1000 brings 200 columns at once (a second kind of row): the cap per stream falls from 4096 to 512.
    const wide = Object.fromEntries(Array.from({ length: 200 }, (_v, k) => [`m${k}`, k]));
    const records: MetricRecord[] = Array.from({ length: 30_000 }, (_v, i) => ({ iter: i, loss: 1 / (1 + i), ...(i === 1000 ? wide : {}) }));
    const once = feed(records, [records.length]);
    const train = once.split('train')!;
    expect(train.keys().length).toBe(202);
    expect(capFor(METRIC_ROW_CAP, 202, 2)).toBe(512);
    // The iter/loss kind: 29,999 rows under a cap of 512: stride 64, ordinals 0, 64, ... and the newest.
    const iters = Array.from(train.values('iter')).filter((_v, i) => Number.isNaN(train.values('m0')[i]));
    const expected: number[] = [];
    for (let o = 0; o < 29_999; o += 64) expected.push(o < 1000 ? o : o + 1);
    expected.push(29_999);
    expect(iters).toEqual(expected);
    expect(train.values('m7').filter((v) => v === 7).length).toBe(1);
    expect(train.length * train.keys().length).toBeLessThanOrEqual(2 * METRIC_CELLS);
    for (const sizes of [[1, 999], [64], [2001, 3]]) expect(feed(records, sizes).tables()).toEqual(once.tables());
    const host = new MetricSplits();
    host.appendRecords(records.slice(0, 1500));
    const page = new MetricSplits();
    page.append(host.tables());
    page.append(host.appendRecords(records.slice(1500)));
    expect(page.tables()).toEqual(once.tables());
  });

  test('the trainer\'s usual split keeps the whole cap', () => {
    expect(capFor(METRIC_ROW_CAP, 30, 2)).toBe(METRIC_ROW_CAP);
    expect(capFor(METRIC_ROW_CAP, 256, 9)).toBe(128);
    expect(capFor(64, 256, 9)).toBe(64);
  });

  test('a batch of half a million short lines of 256 columns comes as tables of at most a million values each', () => {
    // Line i has column c<i mod 256>: every part of the batch has all 256 columns, 4096 rows each.
    const records: MetricRecord[] = Array.from({ length: 500_000 }, (_v, i) => ({ [`c${i % 256}`]: i }));
    const keys = new MetricKeys();
    const tables = toMetricTables(records, keys);
    expect(tables.length).toBeGreaterThan(100);
    for (const t of tables) expect(t.length * Object.keys(t.columns).length).toBeLessThanOrEqual(1 << 20);
    // Together they are the rows, in order.
    expect(tables.reduce((a, t) => a + t.length, 0)).toBe(records.length);
    const c5 = tables.flatMap((t) => Array.from(t.columns.c5));
    expect(c5.filter((v) => !Number.isNaN(v))).toEqual(Array.from({ length: Math.ceil((500_000 - 5) / 256) }, (_v, j) => 5 + 256 * j));
    expect(c5.indexOf(261)).toBe(261);
    expect(keys.leftOut).toBe(0);
  });

  test('the runs table summarises the kept splits and columns only', () => {
    const records = hostile(2000, 20);
    const summary = summarizeMetrics(records);
    const splits = new Set(Object.keys(summary.final).map((k) => k.split('/')[0]));
    expect(splits.size).toBe(MAX_METRIC_SPLITS);
    // Per split: loss and 254 k-columns (iter is bookkeeping but takes a column, as in the tables).
    expect(Object.keys(summary.final).filter((k) => k.startsWith('s0/')).length).toBe(1 + Math.min(100, MAX_METRIC_COLUMNS - 2));
    // Batches with the reader's own MetricKeys give the same.
    const keys = new MetricKeys();
    const into = { final: {}, best: {} };
    for (let at = 0; at < records.length; at += 123) summarizeMetrics(records.slice(at, at + 123), into, keys);
    expect(into).toEqual(summary);
  });

  test('what the panels say', () => {
    expect(leftOutNote(undefined)).toBe('');
    expect(leftOutNote(0)).toBe('');
    expect(leftOutNote(12_345)).toBe('metrics.jsonl has more than 16 splits or more than 256 metrics in a split: the first ones are shown, 12,345 values of the others are not');
  });
});

describe('keys that are names of Object', () => {
  test('__proto__ is left out, constructor and toString are columns; nothing reaches Object.prototype', () => {
    const records = JSON.parse('[{"__proto__": 7, "constructor": 2, "toString": 3, "loss": 1}, {"__proto__": 8, "loss": 0.5}]') as MetricRecord[];
    const splits = new MetricSplits();
    splits.appendRecords(records);
    const train = splits.split('train')!;
    expect(train.keys()).toEqual(['constructor', 'toString', 'loss']);
    expect(Array.from(train.values('constructor'))).toEqual([2, NaN]);
    expect(splits.leftOut).toBe(2);
    expect(({} as Record<string, unknown>)[0]).toBeUndefined();
    expect(Object.getPrototypeOf(splits.tables()[0].columns)).toBe(Object.prototype);
    expect(summarizeMetrics(records).final).toEqual({ 'train/constructor': 2, 'train/toString': 3, 'train/loss': 0.5 });
  });
});
