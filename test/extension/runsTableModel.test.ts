/**
 * The runs table's model without VS Code: rows built from run directories on disk (read by the
 * run directory's own readers), the filter language and its located errors, sorting with missing
 * values last, grouping by a config key, a thousand synthetic runs sorted and filtered, and the run
 * queue's entries as rows beside the runs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runInfo } from '../helpers/runInfo';
import { stringify } from 'yaml';
import { readMetrics, readRunAnnotations, readRunConfig, readRunRecord, runFile, writeRunAnnotations, type RunInfo } from '../../src/rundir';
import { addToQueue, holdInQueue, listQueueEntries, queueFile, setQueuePaused, updateQueue } from '../../src/runs';
import { MAX_METRIC_COLUMNS } from '../../src/report/model/metrics';
import {
  allColumns,
  bestColumn,
  cellValue,
  columnIndex,
  compileFilter,
  configColumn,
  finalColumn,
  groupRows,
  parseFilter,
  queuedRows,
  resolveKey,
  runRow,
  sortRows,
  compareValues,
  summarizeMetrics,
  tableViewFrom,
  viewRows,
  type RunRow,
  type TableRow,
} from '../../src/extension/panels/runsTableModel';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-runs-table-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const STARTED = Date.parse('2026-03-01T10:00:00Z');

/** A run directory as the trainer leaves it: run.json, config.yaml, metrics.jsonl. */
function writeRun(id: string, info: Partial<RunInfo>, config: Record<string, unknown>, metrics: Array<Record<string, unknown>>): string {
  const dir = path.join(root, 'work_dirs', 'resnet', id);
  fs.mkdirSync(dir, { recursive: true });
  const full = runInfo({ config: path.join(root, 'configs', 'resnet.yaml'), config_stem: 'resnet', run_id: id, started: new Date(STARTED).toISOString(), epoch: 2, iter: 20, max_iters: 20, max_epochs: 2, ...info });
  fs.writeFileSync(runFile(dir, 'run'), JSON.stringify(full));
  fs.writeFileSync(runFile(dir, 'config'), stringify(config));
  fs.writeFileSync(runFile(dir, 'metrics'), metrics.map((m) => JSON.stringify(m)).join('\n') + '\n');
  return dir;
}

function readRow(dir: string): RunRow {
  const record = readRunRecord(dir)!;
  return runRow(record, readRunConfig(dir).config, summarizeMetrics(readMetrics(dir)), readRunAnnotations(dir), STARTED + 3_600_000);
}

describe('rows from run directories', () => {
  const a = writeRun(
    'a',
    { ended: new Date(STARTED + 90_000).toISOString(), engine: { backend: 'wasm-ort' }, world_size: 2, metrics: { 'val/accuracy_top1': 0.91 } },
    { optimizer: { type: 'SGD', lr: 0.1 }, model: { backbone: { depth: 18 } }, data: { train: { batch_size: 32 } } },
    [
      { iter: 10, split: 'train', loss: 2.0, lr: 0.1 },
      { iter: 10, split: 'val', accuracy_top1: 0.8, loss: 0.9 },
      { iter: 20, split: 'train', loss: 1.5, lr: 0.01 },
      { iter: 20, split: 'val', accuracy_top1: 0.7, loss: 1.1 },
    ],
  );

  it('reads status, times, engine, world size, the flattened config and final and best metrics', () => {
    const row = readRow(a);
    expect(row).toMatchObject({ kind: 'run', dir: a, name: 'resnet/a', status: 'finished', startedMs: STARTED, durationMs: 90_000, engine: 'wasm-ort', worldSize: 2, starred: false, note: '' });
    // A run stopped and resumed later: the time it sat stopped is not its duration.
    expect(readRow(writeRun('resumed', { ended: new Date(STARTED + 90_000).toISOString(), paused_s: 30 }, {}, [])).durationMs).toBe(60_000);
    expect(row.config).toMatchObject({ 'optimizer.type': 'SGD', 'optimizer.lr': 0.1, 'model.backbone.depth': 18, 'data.train.batch_size': 32 });
    // run.json's final metrics win over the last metrics.jsonl record; best follows the metric's direction.
    expect(row.final['val/accuracy_top1']).toBe(0.91);
    expect(row.best['val/accuracy_top1']).toBe(0.8);
    expect(row.final['val/loss']).toBe(1.1);
    expect(row.best['val/loss']).toBe(0.9);
    expect(row.best['train/lr']).toBe(0.01);
    expect(row.final).not.toHaveProperty('val/iter');
  });

  it("keeps run.json's metrics to the columns metrics.jsonl's are kept to", () => {
    const metrics = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`val/m${i}`, i]));
    const row = runRow({ dir: '/w/r', state: 'finished', group: 'g', startedMs: STARTED, info: { run_id: 'r', metrics: { ...metrics, 'test/top1': 0.5 } } }, undefined, { final: {}, best: {} }, { starred: false, note: '' });
    expect(Object.keys(row.final)).toHaveLength(MAX_METRIC_COLUMNS + 1);
    expect(row.final).toMatchObject({ 'val/m0': 0, 'val/m255': 255, 'test/top1': 0.5 });
  });

  it('shows a star and a note written to the run directory, atomically, and keeps the other field', () => {
    expect(writeRunAnnotations(a, { starred: true })).toEqual({ starred: true, note: '' });
    writeRunAnnotations(a, { note: 'best so far, lr 0.1' });
    expect(JSON.parse(fs.readFileSync(runFile(a, 'annotations'), 'utf8'))).toEqual({ starred: true, note: 'best so far, lr 0.1' });
    expect(fs.readdirSync(a).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const row = readRow(a);
    expect([row.starred, row.note]).toEqual([true, 'best so far, lr 0.1']);
  });

  it('names the file and key of a broken annotations file', () => {
    const b = writeRun('b', {}, {}, []);
    fs.writeFileSync(runFile(b, 'annotations'), JSON.stringify({ starred: 'yes' }));
    expect(() => readRunAnnotations(b)).toThrow(`${runFile(b, 'annotations')}: starred: expected true or false, got "yes"`);
    fs.writeFileSync(runFile(b, 'annotations'), '{"note": ');
    expect(() => readRunAnnotations(b)).toThrow(runFile(b, 'annotations'));
  });
});

/** A row without a run directory (the filter, sort and group tests). */
function row(name: string, over: Partial<RunRow> = {}): RunRow {
  return { kind: 'run', dir: `/w/${name}`, name, status: 'finished', startedMs: STARTED, durationMs: 1000, engine: 'wasm-ort', worldSize: 1, starred: false, note: '', config: {}, final: {}, best: {}, ...over };
}

const rows: TableRow[] = [
  row('r1', { status: 'finished', config: { 'optimizer.lr': 0.1, 'model.depth': 18, 'data.lr_scale': 1 }, final: { 'val/accuracy_top1': 0.95, 'val/loss': 0.2 }, best: { 'val/accuracy_top1': 0.96, 'val/loss': 0.2 }, note: 'Baseline' }),
  row('r2', { status: 'failed', config: { 'optimizer.lr': 0.001, 'model.depth': 50 }, final: { 'val/accuracy_top1': 0.5 }, best: { 'val/accuracy_top1': 0.6 } }),
  row('r3', { status: 'finished', config: { 'optimizer.lr': 0.01, 'model.depth': 50 }, final: { 'val/accuracy_top1': 0.92 }, best: { 'val/accuracy_top1': 0.93 }, starred: true }),
  row('r4', { status: 'running', config: { 'optimizer.lr': 0.05, 'model.depth': 18 }, final: {}, best: {} }),
];
const index = columnIndex(rows);
const names = (rs: readonly TableRow[]) => rs.map((r) => r.name);
const filtered = (text: string) => {
  const f = compileFilter(text, index);
  if ('error' in f) throw new Error(f.error.message);
  return names(rows.filter(f.predicate));
};

describe('filter', () => {
  it('matches the example of the issue: equality, and comparisons on a config key (by its last segment) and a metric', () => {
    expect(filtered('status:finished lr>0.01 val/accuracy_top1>0.9')).toEqual(['r1']);
    expect(filtered('status:finished optimizer.lr>=0.01')).toEqual(['r1', 'r3']);
  });

  it('compares numbers as numbers, takes any of a comma list, negates, and finds bare words in name and note', () => {
    expect(filtered('depth:50')).toEqual(['r2', 'r3']);
    expect(filtered('depth=50.0')).toEqual(['r2', 'r3']);
    expect(filtered('depth!=50')).toEqual(['r1', 'r4']);
    expect(filtered('status:failed,running')).toEqual(['r2', 'r4']);
    expect(filtered('-status:finished')).toEqual(['r2', 'r4']);
    expect(filtered('status:FINISHED')).toEqual(['r1', 'r3']);
    expect(filtered('baseline')).toEqual(['r1']);
    expect(filtered('starred:true')).toEqual(['r3']);
    expect(filtered('lr<0.01')).toEqual(['r2']);
    // A run without the metric never passes a comparison on it.
    expect(filtered('val/accuracy_top1<=0.5')).toEqual(['r2']);
    expect(filtered('best(val/accuracy_top1)>0.92')).toEqual(['r1', 'r3']);
    expect(filtered('best(accuracy_top1)<0.7 accuracy_top1>0.4')).toEqual(['r2']);
    expect(filtered('note:"baseline"')).toEqual(['r1']);
    expect(filtered('')).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('resolves keys: built-ins, full paths, a unique last segment; an ambiguous or unknown one is an error', () => {
    expect(resolveKey('lr', index)).toEqual({ column: configColumn('optimizer.lr') });
    expect(resolveKey('lr_scale', index)).toEqual({ column: configColumn('data.lr_scale') });
    expect(resolveKey('loss', index)).toEqual({ column: finalColumn('val/loss') });
    expect(resolveKey('best(loss)', index)).toEqual({ column: bestColumn('val/loss') });
    const twice = columnIndex([row('x', { config: { 'a.depth': 1, 'b.depth': 2 } })]);
    expect(resolveKey('depth', twice)).toEqual({ message: '"depth" is ambiguous: a.depth, b.depth' });
  });

  it('locates errors in the text and says what was expected', () => {
    const at = (text: string) => {
      const f = compileFilter(text, index);
      return 'error' in f ? f.error : undefined;
    };
    expect(at('status:finished lr>abc')).toEqual({ message: '"lr>abc": > compares numbers; "abc" is not a number', start: 16, end: 22 });
    expect(at('status:finished  warmup>3')).toMatchObject({ start: 17, end: 25, message: expect.stringContaining('unknown key "warmup"') });
    expect(at('lr>')).toMatchObject({ start: 0, end: 3, message: '"lr>": a value is missing after >' });
    expect(at('>0.1')).toMatchObject({ message: '">0.1": a key is missing before >' });
    expect(at('note:"open')).toMatchObject({ message: expect.stringContaining('unclosed quote') });
    expect(parseFilter('a:1  b>=2')).toEqual({
      terms: [
        { start: 0, end: 3, negate: false, key: 'a', op: ':', value: '1' },
        { start: 5, end: 9, negate: false, key: 'b', op: '>=', value: '2' },
      ],
    });
  });

  it('keeps every row and reports the error when the filter does not parse', () => {
    const v = viewRows(rows, { columns: [], filter: 'lr>x' }, index);
    expect(v.matched).toBe(4);
    expect(v.error?.start).toBe(0);
  });
});

describe('sort and group', () => {
  it('sorts numbers as numbers, either way, with rows lacking the value last both ways', () => {
    const col = finalColumn('val/accuracy_top1');
    expect(names(sortRows(rows, col, false))).toEqual(['r2', 'r3', 'r1', 'r4']);
    expect(names(sortRows(rows, col, true))).toEqual(['r1', 'r3', 'r2', 'r4']);
    expect(names(sortRows(rows, 'status', false))).toEqual(['r2', 'r1', 'r3', 'r4']);
    // ties keep their order
    expect(names(sortRows(rows, 'engine', true))).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('orders infinities as numbers and NaN (a config\'s .inf, .nan) after every number, both ways, whatever the input order', () => {
    const values = [Infinity, NaN, 1, -Infinity, undefined, Infinity, 0];
    for (const descending of [false, true]) {
      const orders = [values, [...values].reverse()].map((vs) => [...vs].sort((a, b) => compareValues(a, b, descending)));
      expect(orders[0]).toEqual(orders[1]);
      expect(orders[0]).toEqual(descending ? [Infinity, Infinity, 1, 0, -Infinity, NaN, undefined] : [-Infinity, 0, 1, Infinity, Infinity, NaN, undefined]);
    }
  });

  it('groups by a config key, in ascending order of its value', () => {
    const groups = groupRows(sortRows(rows, configColumn('optimizer.lr'), true), configColumn('model.depth'));
    expect(groups.map((g) => [g.label, names(g.rows)])).toEqual([
      ['model.depth = 18', ['r1', 'r4']],
      ['model.depth = 50', ['r3', 'r2']],
    ]);
    const none = groupRows([...rows, row('r5')], configColumn('model.depth'));
    expect(none.at(-1)).toMatchObject({ value: undefined, label: 'no model.depth' });
  });

  it('offers every config key and each metric final and best as a column', () => {
    expect(allColumns(index)).toEqual(expect.arrayContaining(['status', 'config:optimizer.lr', 'final:val/loss', 'best:val/loss']));
  });

  it('reads saved settings defensively', () => {
    expect(tableViewFrom({ columns: ['status', 3], sort: { column: 'start', descending: 'yes' }, filter: 7, groupBy: 'config:model.depth' })).toEqual({
      columns: ['status'],
      sort: { column: 'start', descending: true },
      filter: '',
      groupBy: 'config:model.depth',
    });
  });
});

describe('a thousand runs', () => {
  it('builds, filters and sorts 1,000 rows correctly', () => {
    const t0 = performance.now();
    const many: TableRow[] = [];
    for (let i = 0; i < 1000; i++) {
      const lr = [0.1, 0.05, 0.01, 0.001][i % 4];
      const acc = ((i * 7919) % 1000) / 1000; // a permutation of 0, 0.001, ..., 0.999
      const config: Record<string, unknown> = { optimizer: { type: 'SGD', lr }, model: { backbone: { depth: [18, 34, 50][i % 3] } } };
      for (let k = 0; k < 60; k++) config[`extra_${k}`] = { value: k * i };
      many.push(
        runRow(
          { dir: `/w/run${i}`, state: i % 10 === 0 ? 'failed' : 'finished', group: 'resnet', startedMs: STARTED + i * 1000, endedMs: STARTED + i * 1000 + 60_000, info: { run_id: `run${i}`, engine: { backend: 'wasm-ort' } } },
          config,
          summarizeMetrics([{ split: 'val', accuracy_top1: acc / 2 }, { split: 'val', accuracy_top1: acc }]),
          { starred: i % 100 === 0, note: '' },
        ),
      );
    }
    const built = performance.now();
    const idx = columnIndex(many);
    const view = viewRows(many, { columns: [], filter: 'status:finished lr>0.01 val/accuracy_top1>0.9', sort: { column: finalColumn('val/accuracy_top1'), descending: true } }, idx);
    const viewed = performance.now();
    const kept = view.groups[0].rows;
    const expected = many.filter((r) => r.status === 'finished' && (r.config['optimizer.lr'] as number) > 0.01 && r.final['val/accuracy_top1'] > 0.9);
    expect(kept.length).toBe(expected.length);
    expect(kept.length).toBeGreaterThan(30);
    expect(new Set(kept.map((r) => r.dir))).toEqual(new Set(expected.map((r) => r.dir)));
    const accs = kept.map((r) => cellValue(r, finalColumn('val/accuracy_top1')) as number);
    expect(accs).toEqual([...accs].sort((x, y) => y - x));
    const grouped = viewRows(many, { columns: [], filter: '', groupBy: configColumn('model.backbone.depth') }, idx).groups;
    expect(grouped.map((g) => [g.value, g.rows.length])).toEqual([
      [18, 334],
      [34, 333],
      [50, 333],
    ]);
    console.log(`runs table model: 1,000 rows (62 config keys each) built in ${(built - t0).toFixed(1)} ms; index + filter + sort in ${(viewed - built).toFixed(1)} ms`);
  });
});

describe('queued runs', () => {
  // A queue written by the queue's own functions (as `cvw queue add` and the editor write it), its
  // entries then in each state the runner leaves them in.
  const ws = path.join(root, 'queue-ws');
  const started = path.join(ws, 'work_dirs', 'resnet', 'started');
  const starting = path.join(ws, 'work_dirs', 'resnet', 'starting');
  addToQueue(ws, path.join(ws, 'configs', 'resnet.yaml'), ['optimizer.lr=0.2', '--max-iters', '5', '--backend', 'wasm-ort']);
  addToQueue(ws, 'configs/resnet.yaml', ['--model.depth', '34']);
  for (let i = 0; i < 4; i++) addToQueue(ws, 'configs/resnet.yaml');
  holdInQueue(ws, 'q2', true);
  setQueuePaused(ws, true);
  updateQueue(ws, (q) => {
    Object.assign(q.entries[2], { state: 'running', runDir: started, started: new Date(STARTED + 5000).toISOString() });
    Object.assign(q.entries[3], { state: 'running', runDir: starting, started: new Date(STARTED + 6000).toISOString() });
    Object.assign(q.entries[4], { state: 'failed', reason: 'cvw exited with code 2 before it wrote run.json' });
    Object.assign(q.entries[5], { state: 'done', runDir: path.join(ws, 'work_dirs', 'resnet', 'done') });
  });
  const items = listQueueEntries(ws).map((entry) => ({ root: ws, entry }));
  const idOf = (r: string, id: string) => `${queueFile(r)}#${id}`;
  const runDirs = new Set([started, path.join(ws, 'work_dirs', 'resnet', 'done')]);
  const queued = queuedRows(items, (dir) => runDirs.has(dir), idOf);
  const mixed: TableRow[] = [...rows, ...queued];
  const mixedIndex = columnIndex(mixed);
  const view = (filter: string, sort?: { column: string; descending: boolean }) => names(viewRows(mixed, { columns: [], filter, sort }, mixedIndex).groups[0].rows);

  it('lists the entries not yet a run: queued and paused with their place, starting, failed before it started', () => {
    expect(queued.map((r) => [r.name, r.status, r.position])).toEqual([
      ['resnet/q1', 'queued', 1],
      ['resnet/q2', 'paused', 2],
      ['resnet/q4', 'starting', undefined],
      ['resnet/q5', 'failed', undefined],
    ]);
    const q1 = queued[0];
    expect(q1).toMatchObject({ kind: 'queued', dir: `${queueFile(ws)}#q1`, root: ws, queueId: 'q1', configFile: 'configs/resnet.yaml', engine: 'wasm-ort', note: '', final: {}, best: {} });
    // The overrides are its config columns (typed), the options are not.
    expect(q1.config).toEqual({ 'optimizer.lr': 0.2 });
    expect(queued[1].config).toEqual({ 'model.depth': 34 });
    expect(queued[2].startedMs).toBe(STARTED + 6000);
    expect(queued[3].reason).toBe('cvw exited with code 2 before it wrote run.json');
    expect(cellValue(q1, 'start')).toBeUndefined();
    expect(cellValue(q1, 'world_size')).toBeUndefined();
    expect(cellValue(q1, 'starred')).toBeUndefined();
    expect(cellValue(q1, 'queue')).toBe(1);
    expect(cellValue(rows[0], 'queue')).toBeUndefined();
  });

  it('shows a started entry once, as its run: its queued row goes when its run directory has a row', () => {
    expect(queued.map((r) => r.queueId)).not.toContain('q3');
    const before = queuedRows(items, () => false, idOf).map((r) => r.queueId);
    expect(before).toEqual(['q1', 'q2', 'q3', 'q4', 'q5']);
    runDirs.add(starting);
    expect(queuedRows(items, (dir) => runDirs.has(dir), idOf).map((r) => r.queueId)).toEqual(['q1', 'q2', 'q5']);
    runDirs.delete(starting);
  });

  it('filters queued rows by status, by an override and by name', () => {
    expect(view('status:queued')).toEqual(['resnet/q1']);
    expect(view('status:queued,paused')).toEqual(['resnet/q1', 'resnet/q2']);
    expect(view('-status:queued,paused,starting,failed')).toEqual(['r1', 'r3', 'r4']);
    expect(view('lr>0.05')).toEqual(['r1', 'resnet/q1']);
    expect(view('depth:34')).toEqual(['resnet/q2']);
    expect(view('q5')).toEqual(['resnet/q5']);
  });

  it('sorts queued rows, which lack a start, metrics and most config values, after the runs either way', () => {
    expect(view('', { column: 'start', descending: true })).toEqual(['resnet/q4', 'r1', 'r2', 'r3', 'r4', 'resnet/q1', 'resnet/q2', 'resnet/q5']);
    expect(view('', { column: 'start', descending: false })).toEqual(['r1', 'r2', 'r3', 'r4', 'resnet/q4', 'resnet/q1', 'resnet/q2', 'resnet/q5']);
    expect(view('', { column: finalColumn('val/accuracy_top1'), descending: true }).slice(3)).toEqual(['r4', 'resnet/q1', 'resnet/q2', 'resnet/q4', 'resnet/q5']);
    expect(view('', { column: 'queue', descending: false })).toEqual(['resnet/q1', 'resnet/q2', 'r1', 'r2', 'r3', 'r4', 'resnet/q4', 'resnet/q5']);
    expect(view('', { column: configColumn('optimizer.lr'), descending: true })).toEqual(['resnet/q1', 'r1', 'r4', 'r3', 'r2', 'resnet/q2', 'resnet/q4', 'resnet/q5']);
    const groups = groupRows(mixed, 'status').map((g) => [g.label, names(g.rows)]);
    expect(groups).toContainEqual(['status = queued', ['resnet/q1']]);
  });
});
