/** The browser-safe data model shared by the host, the pages and `cvw report`. */
import { afterAll, describe, expect, test } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { benchmarkEntry } from '../../src/report/model/benchmarks';
import { diffConfigs, flattenConfig } from '../../src/report/model/configDiff';
import { cellNumber, parseMarkdownTables, splitRow } from '../../src/report/model/markdownTables';
import { bestOf, lastFinite, lowerIsBetter, tableFromJson, tableToJson, toMetricTables } from '../../src/report/model/metrics';
import { readMetricSplitsInTurns, readMetricTables } from '../../src/report/runFiles';
import { thinTables } from '../../src/report/model/thinning';
import { elapsedSeconds, formatDuration, formatValue, summarize } from '../../src/report/model/run';
import { parseRunInfo } from '../../src/rundir';
import { pca } from '../../src/report/pca';
import { encodePng } from '../../src/report/png';

const t = tempFiles({});
afterAll(() => t.cleanup());

/** A run directory whose metrics.jsonl holds `text`. */
function runWithMetrics(name: string, text: string): string {
  const dir = path.join(t.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), text);
  return dir;
}

describe('metric tables', () => {
  test('records become one columnar table per split, NaN where a row lacks a value', () => {
    const text = [
      '{"time":1,"epoch":1,"iter":10,"split":"train","loss":2.0,"lr":0.1}',
      '{"time":2,"epoch":1,"iter":20,"split":"train","loss":1.5,"lr":0.09,"loss_aux":0.3}',
      '{"time":3,"epoch":1,"iter":20,"split":"val","accuracy_top1":0.5}',
      'not json',
      '{"time":4,"epoch":2,"iter":30,"loss":1.2,"lr":0.08}',
      '{"time":5,"iter":',
    ].join('\n');
    // A line that is not JSON is skipped; a torn last line (no newline yet) waits for its end.
    const tables = readMetricTables(runWithMetrics('small', text));
    expect(tables.map((t) => [t.split, t.length])).toEqual([
      ['train', 3],
      ['val', 1],
    ]);
    const train = tables[0];
    expect(Array.from(train.columns.loss)).toEqual([2, 1.5, 1.2]);
    expect(Array.from(train.columns.loss_aux)).toEqual([NaN, 0.3, NaN]);
    expect(train.columns.split).toBeUndefined();
    expect(lastFinite(train.columns.loss_aux)).toBe(0.3);
    expect(bestOf(train.columns.loss, true)).toEqual({ value: 1.2, row: 2 });
    // Smaller is better for losses, times and memory; larger for the rest.
    expect(['loss_cls', 'iter_time', 'memory_gb', 'lr', 'accuracy_top1', 'samples_per_s'].map(lowerIsBetter)).toEqual([true, true, true, true, false, false]);
    expect(tableFromJson(tableToJson(train))).toEqual(train);
    expect(tableToJson(train).columns.loss_aux).toEqual([null, 0.3, null]);
  });

  test('a file of several MiB is read a part at a time into the same tables as its records at once', () => {
    const records = Array.from({ length: 30_000 }, (_, i) => (i % 1000 === 999 ? { iter: i, split: 'val', accuracy_top1: i / 30_000 } : { iter: i, split: 'train', loss: 1 / (i + 1), lr: 0.1, note: 'x'.repeat(40) }));
    const dir = runWithMetrics('big', records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    expect(fs.statSync(path.join(dir, 'metrics.jsonl')).size).toBeGreaterThan(2.5 * (1 << 20));
    expect(readMetricTables(dir)).toEqual(thinTables(toMetricTables(records)));
  });

  test('read a slice per turn (the run report panel): the same tables, other work runs between the slices', async () => {
    const records = Array.from({ length: 30_000 }, (_, i) => ({ iter: i, split: 'train', loss: 1 / (i + 1), lr: 0.1, note: 'x'.repeat(40) }));
    const dir = runWithMetrics('turns', records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    let between = false;
    setImmediate(() => (between = true));
    const reading = readMetricSplitsInTurns(dir);
    expect(between).toBe(false);
    expect((await reading).tables()).toEqual(readMetricTables(dir));
    expect(between).toBe(true);
    expect((await readMetricSplitsInTurns(path.join(t.dir, 'nothing-here'))).tables()).toEqual([]);
  });

  test('chunks delivered over time join into one table per split', () => {
    const a = toMetricTables([{ split: 'train', iter: 1, loss: 3 }, { split: 'val', iter: 1, acc: 0.1 }]);
    const b = toMetricTables([{ split: 'train', iter: 2, loss: 2, lr: 0.1 }]);
    const c = toMetricTables([{ split: 'train', iter: 3, loss: 1 }]);
    const joined = thinTables([...a, ...b, ...c]);
    expect(joined.map((t) => [t.split, t.length])).toEqual([
      ['train', 3],
      ['val', 1],
    ]);
    expect(Array.from(joined[0].columns.loss)).toEqual([3, 2, 1]);
    expect(Array.from(joined[0].columns.lr)).toEqual([NaN, 0.1, NaN]);
    expect(thinTables(joined)).toEqual(joined);
  });
});

describe('config differences', () => {
  test('only the keys whose values differ, with dotted paths and list indices', () => {
    const a = { model: { type: 'SimCLR', backbone: { type: 'ResNet', depth: 18 } }, optimizer: { lr: 0.1 }, pipeline: [{ type: 'Resize', size: 32 }], seed: 0 };
    const b = { model: { type: 'BYOL', backbone: { type: 'ResNet', depth: 18 } }, optimizer: { lr: 0.1, momentum: 0.9 }, pipeline: [{ type: 'Resize', size: 64 }], seed: '0' };
    expect(flattenConfig(a).get('pipeline[0].size')).toBe('32');
    expect(diffConfigs([a, b, undefined])).toEqual([
      { key: 'model.type', values: ['SimCLR', 'BYOL', undefined] },
      { key: 'model.backbone.type', values: ['ResNet', 'ResNet', undefined] },
      { key: 'model.backbone.depth', values: ['18', '18', undefined] },
      { key: 'optimizer.lr', values: ['0.1', '0.1', undefined] },
      { key: 'pipeline[0].type', values: ['Resize', 'Resize', undefined] },
      { key: 'pipeline[0].size', values: ['32', '64', undefined] },
      { key: 'seed', values: ['0', '0', undefined] },
      { key: 'optimizer.momentum', values: [undefined, '0.9', undefined] },
    ]);
    expect(diffConfigs([a, b]).map((d) => d.key)).toEqual(['model.type', 'pipeline[0].size', 'optimizer.momentum']);
    expect(diffConfigs([a, a])).toEqual([]);
  });
});

describe('Markdown tables', () => {
  test('tables with their headings and lines; code fences skipped; cells as numbers', () => {
    const md = ['# Bench', '', '## Engine', 'Some text | not a table', '', '| op | ms |', '|---|--:|', '| conv `a|b` | 21 ms |', '| bn \\| x | **1,157** |', '', '```', '| a | b |', '|---|---|', '```', '### Data', 'a | b', '- | -', '1 | 2'].join('\n');
    const tables = parseMarkdownTables(md);
    expect(tables).toEqual([
      { title: 'Bench / Engine', line: 6, header: ['op', 'ms'], rows: [['conv `a|b`', '21 ms'], ['bn | x', '**1,157**']] },
      { title: 'Bench / Engine / Data', line: 16, header: ['a', 'b'], rows: [['1', '2']] },
    ]);
    expect(splitRow('| a | b |')).toEqual(['a', 'b']);
    expect(parseMarkdownTables('| a | b |\n|---|---|\n| &nbsp;&nbsp;of which: x &amp; y | 3&#215;4 |')[0].rows).toEqual([['\u00a0\u00a0of which: x & y', '3×4']]);
    // An entity named like a member of Object.prototype is no entity: left as written.
    expect(parseMarkdownTables('| &constructor; | &amp; |\n|---|---|\n| a &constructor; b | 1 |')[0]).toMatchObject({ header: ['&constructor;', '&'], rows: [['a &constructor; b', '1']] });
    // A code point past Unicode's last is no character: left as written, the other cells decoded.
    expect(parseMarkdownTables('| a | b |\n|---|---|\n| &#1114112; &#x110000; | &#x10FFFF;&#65; |')[0].rows).toEqual([['&#1114112; &#x110000;', '\u{10ffff}A']]);
    expect(['21 ms', '**1,157**', '0.13x', '95.2 %', '-3e-4', '4.7 / 11.2', 'n/a', '', '12 samples/s'].map(cellNumber)).toEqual([21, 1157, 0.13, 95.2, -3e-4, undefined, undefined, undefined, 12]);
  });
});

describe('Markdown tables of a hostile BENCHMARKS.md (a cloned workspace)', () => {
  test('a long heading or delimiter line is read in time linear in its length', () => {
    // The heading pattern /^(#{1,6})\s+(.*?)\s*#*\s*$/ backtracked cubically: 4,000 spaces between
    // two words took 11 s (the benchmarks panel's extension host stopped meanwhile); the delimiter
    // pattern quadratically (1 MB of spaces: minutes).
    const started = Date.now();
    const md = [`# a${' '.repeat(3000)}\u0001b #`, '| x |', `|-${' '.repeat(50_000)}x`, '| y |', `${' '.repeat(50_000)}|---|`, '| 1 |'].join('\n');
    const tables = parseMarkdownTables(md);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(tables).toEqual([{ title: `a${' '.repeat(3000)}\u0001b`, line: 4, header: ['y'], rows: [['1']] }]);
    // Headings as before: closing #s and spaces dropped, seven #s no heading.
    expect(parseMarkdownTables(['## T ##  ', '# ###', '####### no', '| a |', '|:-:|', '| 1 |'].join('\n'))[0].title).toBe('');
    expect(parseMarkdownTables(['# A', '## B#', '| a |', '| :--- | ---: |', '| 1 |'].join('\n'))[0].title).toBe('A / B');
    expect(parseMarkdownTables(['| a |', '||-', '| 1 |', '| b |', '|-||', '| 2 |'].join('\n'))).toEqual([]);
  });
});

describe('benchmark entries', () => {
  test('a result file of cvw benchmark with the run it belongs to', () => {
    const json = { benchmark: 'knn', iter: 400, epoch: 4, weights: 'ema', feature_dim: 512, train: { count: 1000 }, test: { count: 500 }, k: 200, temperature: 0.1, metrics: { knn_top1: 0.7, knn_top5: 0.9, note: 'x' }, time: '2026-11-28T00:00:00Z' };
    const e = benchmarkEntry('/w/r/benchmarks/knn.json', json, { dir: '/w/r', id: 'r', configStem: 'simclr', config: { model: { type: 'SimCLR', backbone: { type: 'ResNet' } } } });
    expect(e).toEqual({
      run: '/w/r',
      file: '/w/r/benchmarks/knn.json',
      runId: 'r',
      configStem: 'simclr',
      algorithm: 'SimCLR',
      backbone: 'ResNet',
      benchmark: 'knn',
      metrics: { knn_top1: 0.7, knn_top5: 0.9 },
      settings: { k: 200, temperature: 0.1, weights: 'ema' },
      featureDim: 512,
      iter: 400,
      epoch: 4,
      trainCount: 1000,
      testCount: 500,
      time: '2026-11-28T00:00:00Z',
    });
    expect(benchmarkEntry('/x.json', { nothing: 1 }, { dir: '/w', id: 'r', configStem: 's' })).toBeUndefined();
  });
});

describe('run summaries', () => {
  test('run.json summarised; a reader state overrides the status; durations and values formatted', () => {
    const info = parseRunInfo({ status: 'running', config_stem: 'cfg', engine: { backend: 'wasm', reason: 'no GPU' }, started: '2026-01-01T00:00:00Z', iter: 5, max_iters: 10, max_epochs: 2 }, 'run.json');
    const s = summarize('/w/cfg/run1', info, 'SimCLR', 'interrupted');
    expect(s).toMatchObject({ id: 'run1', status: 'interrupted', engine: 'wasm — no GPU', model: 'SimCLR', iter: 5, maxIters: 10 });
    expect(elapsedSeconds({ ...s, status: 'running' }, Date.parse('2026-01-01T00:01:05Z'))).toBe(65);
    // Less the time it sat stopped before a resume (run.json paused_s).
    const resumed = summarize('/w/cfg/run1', parseRunInfo({ status: 'finished', started: '2026-01-01T00:00:00Z', ended: '2026-01-01T01:00:00Z', paused_s: 1200 }, 'run.json'));
    expect(elapsedSeconds(resumed)).toBe(2400);
    // A Slurm job not started yet is pending in the panels too; a status from a newer version is unknown.
    expect(summarize('/w/cfg/run2', parseRunInfo({ status: 'pending' }, 'run.json')).status).toBe('pending');
    expect(summarize('/w/cfg/run3', info, undefined, 'paused-by-a-later-version').status).toBe('unknown');
    expect([5, 65, 3725].map(formatDuration)).toEqual(['5 s', '1 min 05 s', '1 h 02 min']);
    expect([0, 0.86123, 1234, 1e-5, 2.5e7, NaN].map(formatValue)).toEqual(['0', '0.8612', '1234', '1.000e-5', '2.500e+7', '—']);
  });
});

describe('PCA', () => {
  test('finds the axes of an elongated cloud and their share of the variance', () => {
    // Points on axes rotated by 30°, variances 9, 4 and 1 (a third, small axis).
    const n = 2000;
    const rows = new Float64Array(n * 3);
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const sums = [0, 0, 0];
    const pts: number[][] = [];
    for (let i = 0; i < n; i++) {
      // Uniform in [-1, 1] has variance 1/3: scale to variances 9, 4, 1.
      const a = rand() * 3 * Math.sqrt(3);
      const b = rand() * 2 * Math.sqrt(3);
      const z = rand() * Math.sqrt(3);
      pts.push([a * c - b * s + 5, a * s + b * c - 2, z]);
    }
    pts.forEach((p, i) => p.forEach((v, j) => ((rows[i * 3 + j] = v), (sums[j] += v))));
    const r = pca(rows, n, 3);
    expect(Math.abs(r.components[0][0])).toBeCloseTo(c, 1);
    expect(Math.abs(r.components[0][1])).toBeCloseTo(s, 1);
    expect(Math.abs(r.components[1][0])).toBeCloseTo(s, 1);
    const total = r.variance[0] / r.explained[0];
    expect(total).toBeCloseTo(14, 0);
    expect(r.explained[0]).toBeCloseTo(9 / 14, 1);
    expect(r.explained[1]).toBeCloseTo(4 / 14, 1);
    // Orthogonal unit components; coordinates centred.
    const dot = r.components[0].reduce((a, v, j) => a + v * r.components[1][j], 0);
    expect(Math.abs(dot)).toBeLessThan(1e-8);
    expect(Math.abs(r.coords[0].reduce((a, v) => a + v, 0) / n)).toBeLessThan(1e-9);
  });
});

describe('PNG thumbnails', () => {
  test('encodePng writes grey and RGB images that sharp (libvips) decodes to the same pixels', async () => {
    const sharp = (await import('sharp')).default;
    const grey = Uint8Array.from({ length: 28 * 28 }, (_v, i) => (i * 37) % 256);
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_v, i) => (i * 91) % 256);
    for (const [px, w, h, c] of [
      [grey, 28, 28, 1],
      [rgb, 5, 3, 3],
    ] as const) {
      const png = encodePng(px, w, h, c);
      expect((await sharp(png).metadata()).channels).toBe(c);
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([w, h]);
      // libvips may hand grey back as RGB: compare the first channel of each pixel then.
      const got = info.channels === c ? data : Uint8Array.from({ length: w * h }, (_v, i) => data[i * info.channels]);
      expect(Array.from(got)).toEqual(Array.from(px));
    }
  });
});
