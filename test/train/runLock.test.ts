import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';
import { makeNewRunDir, readRunLock, readRunRecord, RUN_FILES, RunLock, RunLockedError, type LockHolder } from '../../src/rundir';
import { waitFor } from '../helpers/wait';

const RUN_LOCK = RUN_FILES.lock;

// One writer per run: run.lock, taken with `wx` by whoever trains in a run directory.
const root = path.resolve(__dirname, '../..');
const cvw = path.join(root, 'bin', 'cvw.js');
// Long enough that a run is still training when the next process arrives; the tests stop it.
const t = tempFiles({ 'tiny.yaml': tinyClassificationYaml({ seed: 7, runner: 'max_iters: 3000, log_interval: 1' }) });
afterAll(() => t.cleanup());
beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
});

let dirs = 0;
const freshDir = () => {
  const d = t.file(`d${dirs++}`);
  fs.mkdirSync(d);
  return d;
};
const writeLock = (dir: string, holder: LockHolder) => fs.writeFileSync(path.join(dir, RUN_LOCK), JSON.stringify(holder));
/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('RunLock', () => {
  it('is exclusive, names its holder, and is released', () => {
    const dir = freshDir();
    const lock = RunLock.acquire(dir);
    expect(readRunLock(dir)).toMatchObject({ pid: process.pid, hostname: os.hostname(), started: lock.holder.started });
    let refused: unknown;
    try {
      RunLock.acquire(dir);
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(RunLockedError);
    expect((refused as Error).message).toContain(`pid ${process.pid} on ${os.hostname()}`);
    expect((refused as Error).message).toContain(`since ${lock.holder.started}`);
    lock.release();
    expect(fs.existsSync(path.join(dir, RUN_LOCK))).toBe(false);
    RunLock.acquire(dir).release();
  });

  it('takes over a lock whose process is dead, or whose pid now belongs to a later process', () => {
    const dir = freshDir();
    const pid = deadPid();
    writeLock(dir, { pid, hostname: os.hostname(), started: new Date().toISOString() });
    const lock = RunLock.acquire(dir);
    expect(lock.tookOverFrom).toMatchObject({ pid });
    expect(lock.takeoverNote()).toContain(`from pid ${pid} on ${os.hostname()}`);
    expect(readRunLock(dir)?.pid).toBe(process.pid);
    lock.release();

    // This test process started after 2001: a lock taken in 2001 by its pid was another process's.
    writeLock(dir, { pid: process.pid, hostname: os.hostname(), started: '2001-01-01T00:00:00.000Z' });
    const again = RunLock.acquire(dir);
    expect(again.tookOverFrom).toMatchObject({ started: '2001-01-01T00:00:00.000Z' });
    again.release();
  });

  it("refuses another host's lock and says how to remove it", () => {
    const dir = freshDir();
    writeLock(dir, { pid: 4242, hostname: 'elsewhere.example', started: '2026-01-02T03:04:05.000Z' });
    expect(() => RunLock.acquire(dir)).toThrow(`cvw (pid 4242 on elsewhere.example) has held it since 2026-01-02T03:04:05.000Z; its process cannot be checked from ${os.hostname()}. If it no longer runs there, delete ${path.join(dir, RUN_LOCK)}`);
    expect(readRunLock(dir)?.pid).toBe(4242);
  });

  it('takes over a half-written lock only once it is old', () => {
    const dir = freshDir();
    const file = path.join(dir, RUN_LOCK);
    fs.writeFileSync(file, '{"pid":');
    const waited = Date.now();
    expect(() => RunLock.acquire(dir)).toThrow(`cannot take the run's lock ${file} (another process is taking it)`);
    expect(Date.now() - waited).toBeGreaterThan(2000);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    const lock = RunLock.acquire(dir);
    expect(lock.tookOverFrom).toBe('unreadable');
    lock.release();
  });

  it("does not remove a lock that is no longer its own", () => {
    const dir = freshDir();
    const lock = RunLock.acquire(dir);
    writeLock(dir, { pid: 4242, hostname: 'elsewhere.example', started: lock.holder.started });
    lock.release();
    expect(readRunLock(dir)?.pid).toBe(4242);
  });

  it('is released when the process exits without releasing it (process.exit)', () => {
    const dir = freshDir();
    const script = `require(${JSON.stringify(path.join(root, 'dist', 'lib', 'rundir', 'lock.js'))}).RunLock.acquire(${JSON.stringify(dir)}); process.exit(3);`;
    const r = spawnSync(process.execPath, ['-e', script]);
    expect(r.status).toBe(3);
    expect(fs.existsSync(path.join(dir, RUN_LOCK))).toBe(false);
  });

  it('of processes racing to take over one stale lock, exactly one gets it', async () => {
    const dir = freshDir();
    writeLock(dir, { pid: deadPid(), hostname: os.hostname(), started: new Date().toISOString() });
    const script = `const { RunLock } = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'rundir', 'lock.js'))});
      try {
        const lock = RunLock.acquire(${JSON.stringify(dir)});
        process.stdout.write('won');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000); // until every racer has tried
        lock.release();
      } catch (e) {
        process.stdout.write(e.message);
      }`;
    const racers = Array.from({ length: 4 }, () => spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const outs = await Promise.all(
      racers.map(
        (p) =>
          new Promise<string>((resolve) => {
            let out = '';
            p.stdout!.on('data', (d) => (out += d));
            p.on('exit', () => resolve(out));
          }),
      ),
    );
    const winners = racers.filter((_, i) => outs[i] === 'won');
    expect(winners).toHaveLength(1);
    for (const out of outs.filter((o) => o !== 'won')) expect(out).toContain(`is in use: cvw (pid ${winners[0].pid} on ${os.hostname()})`);
    expect(fs.existsSync(path.join(dir, RUN_LOCK))).toBe(false);
  }, 30_000);

  it('new default run folders are distinct even when made in the same second', () => {
    const parent = t.file('runs');
    const made = [makeNewRunDir(parent), makeNewRunDir(parent), makeNewRunDir(parent)];
    expect(new Set(made).size).toBe(3);
    for (const d of made) expect(fs.readdirSync(d)).toEqual([]);
  });
});

describe('run readers and the lock', () => {
  const runJson = (dir: string, status: string, pid: number) =>
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ status, pid, hostname: os.hostname(), config: 'c.yaml', config_stem: 'c', run_id: 'r', started: new Date().toISOString() }));

  it('a run whose lock a live process holds is running, whatever run.json says yet', () => {
    const dir = freshDir();
    runJson(dir, 'stopped', deadPid());
    expect(readRunRecord(dir)?.state).toBe('stopped');
    const lock = RunLock.acquire(dir);
    expect(readRunRecord(dir)?.state).toBe('running');
    lock.release();
    runJson(dir, 'running', deadPid());
    expect(readRunRecord(dir)?.state).toBe('crashed');
  });

  it('a stale lock changes nothing', () => {
    const dir = freshDir();
    runJson(dir, 'failed', deadPid());
    writeLock(dir, { pid: deadPid(), hostname: os.hostname(), started: new Date().toISOString() });
    expect(readRunRecord(dir)?.state).toBe('failed');
  });
});

// Real `cvw train` processes.
function start(args: string[]): ChildProcess & { err: string } {
  const p = spawn(process.execPath, [cvw, 'train', ...args, '-q'], { cwd: t.dir, stdio: ['ignore', 'ignore', 'pipe'] }) as ChildProcess & { err: string };
  p.err = '';
  p.stderr!.on('data', (d) => (p.err += d));
  return p;
}
const exited = (p: ChildProcess) => (p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise<number | null>((r) => p.on('exit', (code) => r(code))));
const metricIters = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((m) => m.split === 'train' && m.loss !== undefined)
    .map((m) => m.iter as number);
const logLines = (dir: string, re: RegExp) => fs.readFileSync(path.join(dir, 'log.txt'), 'utf8').split('\n').filter((l) => re.test(l)).length;
const hasIters = (dir: string, n: number) => fs.existsSync(path.join(dir, 'metrics.jsonl')) && metricIters(dir).length >= n;

/** Stop a training with SIGINT (a last checkpoint, status stopped) and wait for it. */
async function stop(p: ChildProcess): Promise<number | null> {
  p.kill('SIGINT');
  return exited(p);
}

describe('one cvw train per run', () => {
  const run = t.file('run');

  it('two creates racing on one --work-dir: one trains, the other is refused', async () => {
    const [a, b] = [start(['tiny.yaml', '--work-dir', run]), start(['tiny.yaml', '--work-dir', run])];
    const first = await Promise.race([exited(a).then(() => a), exited(b).then(() => b)]);
    const winner = first === a ? b : a;
    expect(first.exitCode).toBe(1);
    expect(first.err).toMatch(new RegExp(`cvw train: ${run.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use: cvw \\(pid ${winner.pid} on ${os.hostname()}\\) has held it since \\d{4}-`));
    await waitFor(() => hasIters(run, 2), 'two iterations');
    expect(await stop(winner)).toBe(130);
    expect(logLines(run, /run directory:/)).toBe(1);
    const stopped = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
    expect(stopped).toMatchObject({ status: 'stopped', pid: winner.pid });
    // Its progress is the stop's (where the checkpoint is), not that of the last log interval.
    const at = /stopped \(SIGINT\) at epoch (\d+), iteration (\d+)/.exec(fs.readFileSync(path.join(run, 'log.txt'), 'utf8'))!;
    expect([stopped.epoch, stopped.iter]).toEqual([Number(at[1]), Number(at[2])]);
    expect(fs.existsSync(path.join(run, RUN_LOCK))).toBe(false);
  }, 120_000);

  it('a second --resume of a running run is refused, naming the holder', async () => {
    const a = start(['--resume', run]);
    await waitFor(() => readRunLock(run)?.pid === a.pid, 'the first resume to take the lock');
    const since = readRunLock(run)!.started;
    const b = start(['--resume', run]);
    expect(await exited(b)).toBe(1);
    expect(b.err).toContain(`is in use: cvw (pid ${a.pid} on ${os.hostname()}) has held it since ${since}`);
    const before = metricIters(run).length;
    await waitFor(() => hasIters(run, before + 2), 'the first resume to train');
    expect(await stop(a)).toBe(130);
    // Only one writer: every iteration once, and one resume in the log.
    const iters = metricIters(run);
    expect(new Set(iters).size).toBe(iters.length);
    expect(logLines(run, /resuming/)).toBe(1);
    expect(fs.existsSync(path.join(run, RUN_LOCK))).toBe(false);
  }, 120_000);

  it('a stale lock (its process is dead) is taken over, with a log line', async () => {
    const pid = deadPid();
    writeLock(run, { pid, hostname: os.hostname(), started: new Date().toISOString() });
    const iter = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')).iter as number;
    const r = spawnSync(process.execPath, [cvw, 'train', '--resume', run, '--max-iters', String(iter + 1), '-q'], { cwd: t.dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(logLines(run, new RegExp(`took over the run's lock from pid ${pid} on ${os.hostname()}.*no longer running`))).toBe(1);
    expect(fs.existsSync(path.join(run, RUN_LOCK))).toBe(false);
  }, 120_000);
});
