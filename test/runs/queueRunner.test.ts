import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addToQueue, nodeRuntime, QueueRunner, readQueue, readRunRecord, RunManager, setQueuePaused, type QueueData, type QueueEntry } from '../../src/runs';
import { tempFiles } from '../helpers/tmp';
import { bundleTestCli, type TestCli } from './cli';
import { tinyClassificationYaml } from '../helpers/tinyConfig';

// Real `cvw train` processes: a narrow ResNet on 16x16 crops of the 12 sample images, 3 iterations an epoch.
const tiny = (epochs: number) => tinyClassificationYaml({ seed: 5, runner: `max_epochs: ${epochs}, log_interval: 1` });

let cli: TestCli;
const managers: RunManager[] = [];
const newManager = () => {
  const m = new RunManager(() => ({ node: nodeRuntime(), cvw: { entry: cli.entry, source: 'bundled', packageRoot: cli.root } }));
  managers.push(m);
  return m;
};

beforeAll(async () => {
  cli = await bundleTestCli();
}, 120_000);
afterAll(() => {
  for (const m of managers) m.dispose();
  cli?.cleanup();
});

/** Tick until `done` holds for the queue (each queue seen goes to `seen`). */
async function until(runner: QueueRunner, done: (q: QueueData) => boolean, seen: (q: QueueData) => void = () => undefined, ms = 90_000): Promise<QueueData> {
  const end = Date.now() + ms;
  for (;;) {
    const q = runner.tick();
    seen(q);
    if (done(q)) return q;
    if (Date.now() > end) throw new Error(`queue not settled: ${JSON.stringify(q, null, 1)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const allSettled = (q: QueueData) => q.entries.every((e) => e.state === 'done' || e.state === 'failed');

/** The most runs whose run.json times overlap. */
function maxOverlap(entries: QueueEntry[]): number {
  const spans = entries.map((e) => readRunRecord(e.runDir!)!).map((r) => [r.startedMs, r.endedMs!] as const);
  return Math.max(...spans.map(([s]) => spans.filter(([s2, e2]) => s2 <= s && s < e2).length));
}

describe('QueueRunner with real cvw train processes', () => {
  it('starts N at a time, marks each entry with its run, and every queued training finishes', async () => {
    const t = tempFiles({ 'configs/tiny.yaml': tiny(1) });
    try {
      for (const lr of ['0.01', '0.02', '0.03']) addToQueue(t.dir, 'configs/tiny.yaml', ['--optimizer.lr', lr]);
      const runner = new QueueRunner(newManager(), { root: t.dir, parallel: 2 });
      let mostRunning = 0;
      const first = runner.tick();
      expect(first.entries.map((e) => e.state)).toEqual(['running', 'running', 'queued']);
      const q = await until(runner, allSettled, (q) => (mostRunning = Math.max(mostRunning, q.entries.filter((e) => e.state === 'running').length)));
      runner.dispose();
      expect(mostRunning).toBe(2);
      expect(q.entries.map((e) => e.state)).toEqual(['done', 'done', 'done']);
      const dirs = q.entries.map((e) => e.runDir!);
      expect(new Set(dirs).size).toBe(3);
      for (const [i, e] of q.entries.entries()) {
        expect(path.dirname(e.runDir!)).toBe(t.file('work_dirs/tiny'));
        const run = readRunRecord(e.runDir!)!;
        expect(run.state).toBe('finished');
        expect(run.info.iter).toBe(3);
        expect(run.info.pid).toBe(e.pid);
        // the entry's overrides reached its run
        expect(fs.readFileSync(path.join(e.runDir!, 'config.yaml'), 'utf8')).toMatch(new RegExp(`lr: 0\\.0${i + 1}\\b`));
      }
      // the third began only once one of the first two had ended
      expect(maxOverlap(q.entries)).toBe(2);
      expect(Date.parse(q.entries[2].started!)).toBeGreaterThanOrEqual(Math.min(readRunRecord(dirs[0])!.endedMs!, readRunRecord(dirs[1])!.endedMs!) - 1000);
    } finally {
      t.cleanup();
    }
  }, 180_000);

  it('one at a time by default; after a restart, a living run is adopted (not started again), a killed one is marked failed', async () => {
    const t = tempFiles({ 'configs/long.yaml': tiny(5), 'configs/short.yaml': tiny(1) });
    try {
      addToQueue(t.dir, 'configs/long.yaml');
      addToQueue(t.dir, 'configs/short.yaml');
      const before = newManager();
      const runnerA = new QueueRunner(before, { root: t.dir });
      const started = runnerA.tick().entries[0];
      expect(runnerA.tick().entries.map((e) => e.state)).toEqual(['running', 'queued']);
      await until(runnerA, () => (readRunRecord(started.runDir!)?.info.iter ?? 0) >= 1);
      // The editor reloads: its runner and manager go; detached runs go on.
      runnerA.dispose();
      before.dispose();

      const after = newManager();
      const startedAfter: string[] = [];
      after.onStart((p) => startedAfter.push(p.argv.join(' ')));
      const runnerB = new QueueRunner(after, { root: t.dir });
      const adopted = runnerB.tick().entries[0];
      expect(adopted).toMatchObject({ state: 'running', runDir: started.runDir, pid: started.pid });
      const q = await until(runnerB, allSettled);
      runnerB.dispose();
      expect(q.entries.map((e) => e.state)).toEqual(['done', 'done']);
      expect(fs.readdirSync(t.file('work_dirs/long'))).toEqual([path.basename(started.runDir!)]);
      expect(readRunRecord(started.runDir!)!.info.iter).toBe(15);
      // the new runner started the short one only
      expect(startedAfter).toHaveLength(1);
      expect(startedAfter[0]).toContain('short.yaml');

      // A run whose process dies under it (SIGKILL, a power cut) ends the entry as failed.
      addToQueue(t.dir, 'configs/long.yaml');
      const runnerC = new QueueRunner(newManager(), { root: t.dir });
      const victim = runnerC.tick().entries[2];
      await until(runnerC, () => (readRunRecord(victim.runDir!)?.info.iter ?? 0) >= 4);
      process.kill(victim.pid!, 'SIGKILL');
      const killed = await until(runnerC, (q) => q.entries[2].state !== 'running');
      runnerC.dispose();
      expect(killed.entries[2]).toMatchObject({ state: 'failed', runDir: victim.runDir });
      expect(killed.entries[2].reason).toMatch(/^(interrupted|crashed)/);
      expect(fs.readdirSync(t.file('work_dirs/long'))).toHaveLength(2); // not started again
    } finally {
      t.cleanup();
    }
  }, 240_000);

  it('a paused queue starts nothing; an entry whose cvw fails before its run says why', async () => {
    const t = tempFiles({ 'configs/bad.yaml': tiny(1).replace('stem: cifar', 'stem: cifra') });
    try {
      setQueuePaused(t.dir, true);
      addToQueue(t.dir, 'configs/bad.yaml');
      const manager = newManager();
      const runner = new QueueRunner(manager, { root: t.dir });
      expect(runner.tick().entries[0].state).toBe('queued');
      expect(manager.running()).toHaveLength(0);
      setQueuePaused(t.dir, false);
      const q = await until(runner, allSettled);
      runner.dispose();
      expect(q.entries[0].state).toBe('failed');
      expect(q.entries[0].reason).toMatch(/before writing its run: .*cifra/);
      expect(readQueue(t.dir).entries[0].state).toBe('failed');

      // A hand-broken queue file is reported once (not at every poll), naming the file and key.
      fs.writeFileSync(path.join(t.dir, 'work_dirs/.queue.json'), '{"entries": [{"id": 3}]}');
      const errors: string[] = [];
      const polling = new QueueRunner(manager, { root: t.dir, pollMs: 20 });
      polling.onError((e) => errors.push(e.message));
      polling.start();
      await new Promise((r) => setTimeout(r, 300));
      polling.dispose();
      expect(errors).toEqual([`${path.join(t.dir, 'work_dirs/.queue.json')}: entries[0].id: expected a string`]);
    } finally {
      t.cleanup();
    }
  }, 120_000);
});
