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
});
