import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunWatcher, readRunRecord, processLiveness, type MetricRecord, type RunChange, type RunInfo } from '../../src/runs';
import { canStopRun, procStat, RunLock } from '../../src/rundir';
import { runInfo } from '../helpers/runInfo';
import { tempFiles } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const t = tempFiles({});
afterAll(() => t.cleanup());

/** A run whose pid is no process, unless `patch` says otherwise. */
function info(patch: Partial<RunInfo>): RunInfo {
  return runInfo({ pid: 999_999_999, ...patch });
}

/** Write run.json as the trainer does: temp file + rename. */
function writeRun(dir: string, patch: Partial<RunInfo>): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json.tmp'), JSON.stringify(info({ run_id: path.basename(dir), ...patch })));
  fs.renameSync(path.join(dir, 'run.json.tmp'), path.join(dir, 'run.json'));
}

/** Resolve with the first change for which `predicate` holds. */
function nextChange(w: RunWatcher, predicate: (c: RunChange) => boolean): Promise<RunChange> {
  return new Promise((resolve) => {
    const d = w.onChange((c) => {
      if (predicate(c)) {
        d.dispose();
        resolve(c);
      }
    });
  });
}

const until = (cond: () => boolean) => waitFor(cond, 'the watcher to catch up', 30_000, 20);

describe('readRunRecord', () => {
  it('says interrupted for a running run whose process is gone and that has a checkpoint, crashed without one', () => {
    const a = t.file('rec/a');
    writeRun(a, { status: 'running' });
    expect(readRunRecord(a)).toMatchObject({ state: 'crashed', resumable: false });
    fs.mkdirSync(path.join(a, 'checkpoints'));
    fs.writeFileSync(path.join(a, 'checkpoints', 'latest.safetensors'), '');
    expect(readRunRecord(a)).toMatchObject({ state: 'interrupted', resumable: true });
    writeRun(a, { status: 'running', pid: process.pid });
    expect(readRunRecord(a)).toMatchObject({ state: 'running', resumable: false });
    writeRun(a, { status: 'running', pid: process.pid, hostname: 'another-machine' });
    expect(readRunRecord(a)?.state).toBe('running');
    expect(readRunRecord(t.file('rec/none'))).toBeUndefined();
  });

  it('a record without a hostname, or whose writer started at another time (a copied run), names no process here', () => {
    const a = t.file('rec/copied');
    const started = procStat(process.pid)?.started;
    writeRun(a, { status: 'running', pid: process.pid, hostname: '' });
    expect(readRunRecord(a)).toMatchObject({ state: 'running', elsewhere: 'an unknown host' });
    expect(canStopRun(readRunRecord(a)!)).toBe(false);
    if (process.platform !== 'linux' || started === undefined) return;
    writeRun(a, { status: 'running', pid: process.pid, pid_started: started - 60_000 });
    expect(readRunRecord(a)?.state).toBe('crashed');
    writeRun(a, { status: 'running', pid: process.pid, pid_started: started });
    expect(readRunRecord(a)?.state).toBe('running');
  });

  it('a run.lock that is a FIFO (a hostile clone) is no lock and blocks no reader', () => {
    const a = t.file('rec/fifo-lock');
    writeRun(a, { status: 'finished' });
    execFileSync('mkfifo', [path.join(a, 'run.lock')]);
    expect(readRunRecord(a)?.state).toBe('finished');
  });

  it('a pid reused by a process that started after the run last wrote is not the run', async () => {
    const old = Date.now() - 60_000;
    expect(processLiveness(process.pid, { startedBy: old })).toBe(process.platform === 'linux' ? 'dead' : 'alive');
    expect(processLiveness(process.pid, { startedBy: Date.now() })).toBe('alive');
  });
});

describe('RunWatcher', () => {
  const root = t.file('ws/work_dirs');

  it('finds the runs there at start, follows new ones, their changes and removals, under a root created later', async () => {
    writeRun(path.join(root, 'a', 'r1'), { config_stem: 'a', started: '2026-01-01T00:00:00Z' });
    writeRun(path.join(root, 'b', 'r2'), { config_stem: 'b', started: '2026-01-02T00:00:00Z', status: 'failed' });
    const later = t.file('later/work_dirs');
    const w = await RunWatcher.start([root, later], { livenessMs: 100 });
    try {
      expect(w.runs().map((r) => [r.group, r.info.run_id, r.state])).toEqual([
        ['b', 'r2', 'failed'],
        ['a', 'r1', 'finished'],
      ]);

      const added = nextChange(w, (c) => c.kind === 'added');
      writeRun(path.join(later, 'c', 'r3'), { config_stem: 'c', status: 'running', pid: process.pid });
      expect((await added).run).toMatchObject({ group: 'c', state: 'running', dir: path.join(later, 'c', 'r3') });

      const changed = nextChange(w, (c) => c.kind === 'changed' && c.run.info.run_id === 'r3' && c.run.state === 'finished');
      writeRun(path.join(later, 'c', 'r3'), { config_stem: 'c', status: 'finished', pid: process.pid, metrics: { 'val/accuracy_top1': 0.5 } });
      const c = await changed;
      expect(c.previous?.state).toBe('running');
      expect(c.run.info.metrics).toEqual({ 'val/accuracy_top1': 0.5 });

      // Checkpoint writes are not watched: no event for them.
      const events: RunChange[] = [];
      const d = w.onChange((e) => events.push(e));
      fs.mkdirSync(path.join(later, 'c', 'r3', 'checkpoints'), { recursive: true });
      fs.writeFileSync(path.join(later, 'c', 'r3', 'checkpoints', 'latest.safetensors'), 'x');

      const removed = nextChange(w, (e) => e.kind === 'removed');
      fs.rmSync(path.join(root, 'a'), { recursive: true });
      expect((await removed).run.info.run_id).toBe('r1');
      d.dispose();
      expect(events.filter((e) => e.run.info.run_id === 'r3')).toEqual([]);
      expect(w.runs().map((r) => r.info.run_id).sort()).toEqual(['r2', 'r3']);
    } finally {
      await w.close();
    }
  });

  it('setRoots: the runs of a root no longer watched leave, and new runs there are not picked up', async () => {
    const one = t.file('set/one/work_dirs');
    const two = t.file('set/two/work_dirs');
    writeRun(path.join(one, 'a', 'r1'), { config_stem: 'a' });
    writeRun(path.join(two, 'b', 'r2'), { config_stem: 'b' });
    const w = await RunWatcher.start([one, two], { livenessMs: 50 });
    try {
      expect(w.runs().map((r) => r.info.run_id).sort()).toEqual(['r1', 'r2']);
      const removed: string[] = [];
      const d = w.onChange((c) => c.kind === 'removed' && removed.push(c.run.info.run_id));
      await w.setRoots([one]);
      expect(removed).toEqual(['r2']);
      expect(w.watchedRoots).toEqual([one]);
      writeRun(path.join(two, 'b', 'r3'), { config_stem: 'b' });
      // Ten liveness ticks, two of them rescans: nothing comes back from the closed folder.
      await new Promise((r) => setTimeout(r, 500));
      expect(w.runs().map((r) => r.info.run_id)).toEqual(['r1']);
      d.dispose();
    } finally {
      await w.close();
    }
  });

  it('notices a trainer killed without writing anything: running turns crashed', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const dir = path.join(root, 'k', 'r4');
    writeRun(dir, { config_stem: 'k', status: 'running', pid: child.pid! });
    const w = await RunWatcher.start([root], { livenessMs: 100 });
    try {
      expect(w.get(dir)?.state).toBe('running');
      const crashed = nextChange(w, (c) => c.run.dir === dir && c.run.state === 'crashed');
      child.kill('SIGKILL');
      const c = await crashed;
      expect(c.previous?.state).toBe('running');
      expect(c.run.info.status).toBe('running'); // run.json still says so; the reader knows better
    } finally {
      await w.close();
      child.kill('SIGKILL');
    }
  });

  it('a run read while its trainer still held the lock turns finished when the lock goes (no write follows)', async () => {
    // The trainer writes `finished` and then releases run.lock: a watcher that read run.json in
    // between sees a live lock holder, so `running`; the lock's removal is no run.json event.
    const dir = path.join(root, 'l', 'r5');
    writeRun(dir, { config_stem: 'l', status: 'finished', pid: process.pid });
    const lock = RunLock.acquire(dir);
    const w = await RunWatcher.start([root], { livenessMs: 100 });
    try {
      expect(w.get(dir)).toMatchObject({ state: 'running', info: { status: 'finished' } });
      const finished = nextChange(w, (c) => c.run.dir === dir && c.run.state === 'finished');
      lock.release();
      expect((await finished).previous?.state).toBe('running');
    } finally {
      await w.close();
    }
  });

  it('judges a running run again each tick without reading its unchanged run.json again', async () => {
    // Elsewhere (no hostname): it stays running, so every tick looks at it. A run.json of 16 MiB
    // took seconds to parse: read again each tick, it held the extension host for good.
    const dir = path.join(root, 'n', 'r6');
    const file = path.join(dir, 'run.json');
    writeRun(dir, { config_stem: 'n', status: 'running', hostname: '' });
    const fixed = 1_700_000_000; // whole seconds: set back exactly
    fs.utimesSync(file, fixed, fixed);
    const w = await RunWatcher.start([root], { livenessMs: 40 });
    try {
      expect(w.get(dir)).toMatchObject({ state: 'running', elsewhere: 'an unknown host' });
      // The same file, changed in place with its modification time kept: not read again.
      fs.writeFileSync(file, JSON.stringify(info({ run_id: 'r6', config_stem: 'n', status: 'failed', hostname: '' })));
      fs.utimesSync(file, fixed, fixed);
      await new Promise((r) => setTimeout(r, 400));
      expect(w.get(dir)?.info.status).toBe('running');
      // Its time moves: read.
      const failed = nextChange(w, (c) => c.run.dir === dir && c.run.state === 'failed');
      fs.utimesSync(file, fixed + 1, fixed + 1);
      expect((await failed).previous?.state).toBe('running');
    } finally {
      await w.close();
    }
  });

  it('hands a large backlog to a listener in batches of a few MiB, in order', async () => {
    const dir = path.join(root, 'm', 'big');
    writeRun(dir, { config_stem: 'm', status: 'finished' });
    const lines = Array.from({ length: 60_000 }, (_, i) => JSON.stringify({ iter: i, split: 'train', loss: 1 / (i + 1), note: 'x'.repeat(120) }));
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((l) => `${l}\n`).join('')); // ~9.5 MB
    const w = await RunWatcher.start([root], { livenessMs: 100 });
    try {
      const batches: number[][] = [];
      const turns: string[] = [];
      const f = w.followMetrics(dir, ({ records, reset, more }) => {
        expect(reset).toBe(false);
        batches.push(records.map((r) => r.iter as number));
        turns.push(more ? 'batch' : 'last batch');
      });
      // The first batch at once, the others each on a later turn: the event loop runs between them.
      expect(turns).toEqual(['batch']);
      setImmediate(() => turns.push('other work'));
      await until(() => turns.includes('last batch'));
      f.dispose();
      expect(batches.length).toBeGreaterThanOrEqual(2);
      expect(turns.indexOf('other work')).toBeGreaterThan(0);
      expect(turns.indexOf('other work')).toBeLessThan(turns.length - 1);
      expect(Math.max(...batches.map((b) => b.length))).toBeLessThan(45_000);
      expect(batches.flat()).toEqual(lines.map((_, i) => i));
      // Disposed with a backlog still to hand over: nothing more arrives.
      const cut: number[] = [];
      w.followMetrics(dir, ({ records }) => cut.push(records.length)).dispose();
      await new Promise((r) => setTimeout(r, 100));
      expect(cut).toHaveLength(1);
    } finally {
      await w.close();
    }
  });

  it('follows metrics.jsonl incrementally: the lines so far, then appended batches, then a reset on rewrite', async () => {
    const dir = path.join(root, 'm', 'r5');
    writeRun(dir, { config_stem: 'm', status: 'running', pid: process.pid });
    const metrics = path.join(dir, 'metrics.jsonl');
    fs.writeFileSync(metrics, '{"iter":1,"split":"train","loss":3}\n{"iter":2,"split":"train","loss":2');
    const w = await RunWatcher.start([root], { livenessMs: 100 });
    const seen: MetricRecord[] = [];
    let resets = 0;
    try {
      const f = w.followMetrics(dir, ({ records, reset }) => {
        if (reset) {
          resets++;
          seen.length = 0;
        }
        seen.push(...records);
      });
      expect(seen.map((r) => r.iter)).toEqual([1]); // at once; the partial line waits
      fs.appendFileSync(metrics, '}\n{"iter":3,"split":"train","loss":1}\n');
      await until(() => seen.length === 3);
      expect(seen.map((r) => r.loss)).toEqual([3, 2, 1]);
      fs.appendFileSync(metrics, '{"iter":3,"split":"val","accuracy_top1":0.75}\n');
      await until(() => seen.length === 4);
      expect(seen[3]).toMatchObject({ split: 'val', accuracy_top1: 0.75 });
      // A resume drops lines after its checkpoint: the file is rewritten by rename.
      fs.writeFileSync(metrics + '.tmp', '{"iter":1,"split":"train","loss":3}\n');
      fs.renameSync(metrics + '.tmp', metrics);
      await until(() => resets === 1);
      expect(seen.map((r) => r.iter)).toEqual([1]);
      f.dispose();
      fs.appendFileSync(metrics, '{"iter":2,"split":"train","loss":2}\n');
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toHaveLength(1); // disposed: nothing more
    } finally {
      await w.close();
    }
  });
});
