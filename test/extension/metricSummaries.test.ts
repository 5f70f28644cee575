/**
 * The runs table's metric summaries: a running run's metrics.jsonl grows by a line per
 * `log_interval` iterations and its row is read again at each change, so the summary is updated
 * from the appended bytes, not from the whole file again; a rewritten file (a resumed run drops
 * the lines after its checkpoint) is summarised afresh.
 */
import * as fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { readMetrics, runFile } from '../../src/rundir';
import { MetricSummaries } from '../../src/extension/panels/metricSummaries';
import { summarizeMetrics } from '../../src/extension/panels/runsTableModel';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({});
afterAll(() => t.cleanup());

/** The bytes read through fs.readSync while `fn` runs. */
function bytesRead(fn: () => void): number {
  const cjs = require('node:fs') as { readSync: typeof fs.readSync };
  const original = cjs.readSync;
  let bytes = 0;
  cjs.readSync = ((...args: unknown[]) => {
    const n = (original as (...a: unknown[]) => number)(...args);
    bytes += n;
    return n;
  }) as typeof fs.readSync;
  syncBuiltinESMExports();
  try {
    fn();
    return bytes;
  } finally {
    cjs.readSync = original;
    syncBuiltinESMExports();
  }
}

const line = (iter: number, loss: number) => JSON.stringify({ time: 1_700_000_000 + iter, epoch: 1, iter, split: 'train', loss, lr: 0.1 }) + '\n';

describe('MetricSummaries', () => {
  it('summarises what a growing metrics.jsonl appends, reading only the appended bytes', () => {
    const dir = t.dir;
    const file = runFile(dir, 'metrics');
    let text = '';
    for (let i = 1; i <= 5000; i++) text += line(i, 10 / i);
    fs.writeFileSync(file, text);
    const summaries = new MetricSummaries();
    expect(summaries.of(dir)).toEqual(summarizeMetrics(readMetrics(dir)));
    const appended = line(5001, 0.0001) + JSON.stringify({ iter: 5001, split: 'val', accuracy_top1: 0.5 }) + '\n';
    fs.appendFileSync(file, appended);
    let summary = summaries.of(dir);
    expect(bytesRead(() => (summary = summaries.of(dir)))).toBe(0);
    fs.appendFileSync(file, line(5002, 3));
    expect(bytesRead(() => (summary = summaries.of(dir)))).toBe(line(5002, 3).length);
    expect(summary).toEqual(summarizeMetrics(readMetrics(dir)));
    expect(summary.final['train/loss']).toBe(3);
    expect(summary.best['train/loss']).toBe(0.0001);
    expect(summary.final['val/accuracy_top1']).toBe(0.5);
  });

  it('summarises a file of several MiB a part at a time, exactly', () => {
    const dir = t.file('big');
    fs.mkdirSync(dir);
    let text = '';
    for (let i = 1; i <= 120_000; i++) text += line(i, 1 + Math.sin(i)); // ~11 MB
    fs.writeFileSync(runFile(dir, 'metrics'), text);
    const summary = new MetricSummaries().of(dir);
    expect(summary).toEqual(summarizeMetrics(readMetrics(dir)));
    expect(summary.final['train/loss']).toBe(1 + Math.sin(120_000));
  });

  it('starts again when the file is rewritten (a resume drops the lines after its checkpoint)', () => {
    const dir = t.file('resumed');
    fs.mkdirSync(dir);
    const file = runFile(dir, 'metrics');
    fs.writeFileSync(file, line(1, 5) + line(2, 0.5) + line(3, 0.1));
    const summaries = new MetricSummaries();
    expect(summaries.of(dir).best['train/loss']).toBe(0.1);
    fs.writeFileSync(`${file}.tmp`, line(1, 5));
    fs.renameSync(`${file}.tmp`, file);
    expect(summaries.of(dir)).toEqual({ final: { 'train/loss': 5, 'train/lr': 0.1 }, best: { 'train/loss': 5, 'train/lr': 0.1 } });
    fs.rmSync(file);
    expect(summaries.of(dir)).toEqual({ final: {}, best: {} });
  });

  it('reads as far as a budget shared by the runs of one turn goes, then on from there at the next call', () => {
    const dirs = ['budget-a', 'budget-b'].map((name) => {
      const dir = t.file(name);
      fs.mkdirSync(dir);
      let text = '';
      for (let i = 1; i <= 60_000; i++) text += line(i, 2 + Math.cos(i * (name === 'budget-a' ? 1 : 2))); // ~5.6 MB
      fs.writeFileSync(runFile(dir, 'metrics'), text);
      return dir;
    });
    const sizes = dirs.map((dir) => fs.statSync(runFile(dir, 'metrics')).size);
    const summaries = new MetricSummaries();
    // One turn of 4 MB: the first run takes it all (a line past it at most), the second gets nothing.
    const budget = { bytes: 4e6 };
    let read = 0;
    const first = bytesRead(() => expect(summaries.read(dirs[0], budget).more).toBe(true));
    read += first;
    expect(first).toBeLessThan(4e6 + (1 << 20));
    expect(budget.bytes).toBeLessThanOrEqual(0);
    expect(bytesRead(() => expect(summaries.read(dirs[1], budget)).toMatchObject({ more: true, summary: { final: {}, best: {} } }))).toBe(0);
    // The next turns read on from where each stopped, to the same summaries as a whole read.
    for (const dir of dirs) {
      let more = true;
      while (more) read += bytesRead(() => ({ more } = summaries.read(dir, { bytes: 4e6 })));
      expect(summaries.of(dir)).toEqual(summarizeMetrics(readMetrics(dir)));
    }
    expect(read).toBe(sizes[0] + sizes[1]); // each byte once
  });
});
