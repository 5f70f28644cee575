import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CHECKPOINTS,
  checkpointFile,
  findRunDirs,
  makeNewRunDir,
  parseCheckpointMeta,
  readRunConfig,
  readRunInfo,
  readRunRecord,
  RUN_INFO_VERSION,
  RunDir,
  tryReadRunInfo,
} from '../../src/rundir';
import { readRunSnapshot } from '../../src/report/runFiles';
import { readJson } from '../../src/report/evalFiles';
import { flattenConfig } from '../../src/extension/panels/runsTableModel';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({});
afterAll(() => t.cleanup());

/** A run directory written by cvw 0.1.0, before run.json had a version (committed, never rewritten). */
const v0Root = path.join(__dirname, 'fixtures', 'v0-runs');
const v0Run = path.join(v0Root, 'tiny', '20260101-120000');

function copyRun(from: string, name: string): string {
  const to = t.file(name);
  fs.cpSync(from, to, { recursive: true });
  return to;
}

function writeRunJson(dir: string, json: unknown): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(json));
  return dir;
}

describe('run.json of an older cvw (no version field)', () => {
  it('opens with every reader, as version 1 with its fields as written', () => {
    expect(JSON.parse(fs.readFileSync(path.join(v0Run, 'run.json'), 'utf8')).version).toBeUndefined();
    const info = readRunInfo(v0Run);
    expect(info).toMatchObject({
      version: RUN_INFO_VERSION,
      status: 'finished',
      config_stem: 'tiny',
      run_id: '20260101-120000',
      engine: { backend: 'wasm', engine: 'wasm-ort', reason: 'no GPU' },
      iter: 6,
      max_iters: 6,
      max_epochs: 2,
      last_loss: 1.0625,
      best: { metric: 'val/accuracy_top1', value: 0.5, iter: 6, epoch: 2 },
      metrics: { 'val/accuracy_top1': 0.5 },
    });
    expect(findRunDirs([v0Root])).toEqual([v0Run]);
    expect(readRunRecord(v0Run)).toMatchObject({ state: 'finished', group: 'tiny', resumable: false, startedMs: Date.parse('2026-01-01T12:00:00.000Z'), endedMs: Date.parse('2026-01-01T12:01:05.000Z') });
    const snapshot = readRunSnapshot(v0Run);
    expect(snapshot.summary).toMatchObject({ id: '20260101-120000', configStem: 'tiny', status: 'finished', engine: 'wasm-ort — no GPU', iter: 6, maxEpochs: 2, model: 'Classification' });
    expect(snapshot.tables.map((tb) => [tb.split, tb.length])).toEqual([
      ['train', 2],
      ['val', 1],
    ]);
  });

  it('is continued by the writer (resume) and then carries the version', () => {
    const dir = copyRun(v0Run, 'resumed');
    const run = RunDir.reopen(dir, (previous) => ({ resumed_from: [...(previous.resumed_from ?? []), 'x'] }));
    run.update({ status: 'finished' });
    run.close();
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    // The copy is a run of its own, named by its folder.
    expect(written).toMatchObject({ version: RUN_INFO_VERSION, config_stem: 'tiny', run_id: 'resumed', iter: 6, resumed_from: ['x'], pid: process.pid });
    // From its end (2026-01-01T12:01:05Z) to the resume it sat stopped.
    expect(written.paused_s).toBeCloseTo((Date.now() - Date.parse('2026-01-01T12:01:05Z')) / 1000, -1);
  });

  it('a killed run (no end) counts as stopped from its record\'s last write, and pauses add up', () => {
    const dir = copyRun(v0Run, 'killed');
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    writeRunJson(dir, { ...info, status: 'running', ended: undefined, paused_s: 100 });
    const hourAgo = (Date.now() - 3_600_000) / 1000;
    fs.utimesSync(path.join(dir, 'run.json'), hourAgo, hourAgo);
    RunDir.reopen(dir, () => ({})).close();
    expect(readRunInfo(dir).paused_s).toBeCloseTo(3700, -1);
  });
});

describe('run.json through its schema', () => {
  it('the writer writes what the readers read back, version included', () => {
    const dir = makeNewRunDir(t.file('w/tiny'));
    const run = RunDir.create(dir, { config: '/ws/tiny.yaml', config_stem: 'tiny', command: ['train'], cvw_version: '0.1.0', epoch: 0, iter: 0, max_iters: 3, max_epochs: 1 });
    run.update({ iter: 3, epoch: 1, last_loss: 0.5, status: 'finished', ended: new Date().toISOString() });
    run.close();
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(written.version).toBe(RUN_INFO_VERSION);
    expect(written.run_id).toBe(path.basename(dir));
    expect(readRunInfo(dir)).toEqual(run.runInfo);
  });

  it('refuses a run written by a newer cvw, naming the file and the version', () => {
    const dir = writeRunJson(t.file('newer'), { version: RUN_INFO_VERSION + 1, status: 'finished' });
    expect(() => readRunInfo(dir)).toThrow(`${path.join(dir, 'run.json')}: written by a newer cvw (run.json version ${RUN_INFO_VERSION + 1}; this one reads up to ${RUN_INFO_VERSION})`);
    expect(tryReadRunInfo(dir)).toBeUndefined();
    expect(readRunRecord(dir)).toBeUndefined();
  });

  it('an unknown status is no run: the error names the file and the key', () => {
    const dir = writeRunJson(t.file('bad-status'), { status: 'sleeping' });
    expect(() => readRunInfo(dir)).toThrow(new RegExp(`^${path.join(dir, 'run.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: status: .*"sleeping"`));
    expect(readRunRecord(dir)).toBeUndefined();
  });

  it('fields a hand-edited or partial run.json lacks, or holds with the wrong type, read as unknown', () => {
    const dir = writeRunJson(t.file('partial/grp/r'), { status: 'failed', config_stem: 7, iter: 'x', metrics: { a: 1, b: null }, error: { message: 'boom' } });
    const info = readRunInfo(dir);
    expect(info).toMatchObject({ status: 'failed', config_stem: '', iter: 0, pid: 0, command: [], error: { message: 'boom' } });
    expect(info.metrics?.a).toBe(1);
    expect(info.metrics?.b).toBeNaN();
    expect(readRunRecord(dir)).toMatchObject({ state: 'failed', group: 'grp' });
  });
});

describe('a new run in a folder that already holds one', () => {
  const info = { config: '/ws/tiny.yaml', config_stem: 'tiny', command: ['train'], cvw_version: '0.1.0', epoch: 0, iter: 0, max_iters: 3, max_epochs: 1 };

  it('is refused when the folder holds a run without its run.json (its checkpoints would be replaced)', () => {
    const dir = t.file('w/lost-record');
    fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'checkpoints', 'latest.safetensors'), 'weights');
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{"iter":1}\n');
    expect(() => RunDir.create(dir, info)).toThrow(`${dir} holds files of a run (checkpoints/, metrics.jsonl) but no run.json: training there would replace its checkpoints and mix two runs' metrics; use another --work-dir, or delete the folder`);
    expect(fs.readFileSync(path.join(dir, 'checkpoints', 'latest.safetensors'), 'utf8')).toBe('weights');
    expect(fs.existsSync(path.join(dir, 'run.json'))).toBe(false);
  });

  it("is made in a folder the editor made for the run's output, or an empty checkpoints folder", () => {
    const dir = t.file('w/editor-made');
    fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'output.log'), 'cvw train ...\n');
    const run = RunDir.create(dir, info);
    run.close();
    expect(readRunInfo(dir).status).toBe('running');
  });
});

describe('checkpoint metadata', () => {
  it('a checkpoint without the trainer state cannot be resumed from: the error names the file and the key', () => {
    const file = checkpointFile('/runs/r', CHECKPOINTS.latest);
    expect(file).toBe(path.join('/runs/r', 'checkpoints', 'latest.safetensors'));
    expect(() => parseCheckpointMeta(file, { iter: 3, epoch: 1, seed: 0, config: {}, saved: 'now' })).toThrow(`${file}: __metadata__.cvw.batch_in_epoch:`);
    expect(parseCheckpointMeta(file, { iter: 3, epoch: 1, batch_in_epoch: 0, seed: 0, hooks: { H: { best: 1 } }, config: { seed: 0 }, saved: 'now' })).toMatchObject({ iter: 3, hooks: { H: { best: 1 } } });
  });
});

describe("a run's config.yaml that is not the trainer's (a cloned workspace)", () => {
  it('an alias inside its own anchor, aliases of a long list and deep nesting read as no config, never as a value that contains itself', () => {
    const run = copyRun(v0Run, 'hostile-config');
    const configs = {
      self: 'model: &m {type: Classification, x: [1, *m]}\n',
      // 5 KB of text, a million values once written out (JSON in the dashboard, flattened in the runs table).
      wide: `a: &a [${Array(1000).fill('1').join(', ')}]\nb: [${Array(99).fill('*a').join(', ')}]\n`,
      deep: `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
    };
    for (const [name, text] of Object.entries(configs)) {
      fs.writeFileSync(path.join(run, 'config.yaml'), text);
      const { text: read, config } = readRunConfig(run);
      expect([name, read]).toEqual([name, text]);
      expect([name, config]).toEqual([name, undefined]);
      // What the panels do with it: the runs table flattens it, the dashboard posts it as JSON.
      expect(() => JSON.stringify(readRunSnapshot(run).config)).not.toThrow();
      expect(() => flattenConfig(config)).not.toThrow();
    }
  });

  it('a config.yaml, or an eval or benchmark file, past its limit is not read (the panels got 400 MB of text)', () => {
    const run = copyRun(v0Run, 'huge-files');
    const sparse = (file: string, bytes: number) => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '');
      fs.truncateSync(file, bytes); // its size is what is judged: nothing is read
    };
    sparse(path.join(run, 'config.yaml'), (16 << 20) + 1);
    expect(readRunConfig(run)).toEqual({});
    sparse(path.join(run, 'eval', 'val.json'), (64 << 20) + 1);
    expect(readJson(path.join(run, 'eval', 'val.json'))).toBeUndefined();
    fs.writeFileSync(path.join(run, 'eval', 'val.json'), '{"top1": 0.5}');
    expect(readJson(path.join(run, 'eval', 'val.json'))).toEqual({ top1: 0.5 });
  });
});
