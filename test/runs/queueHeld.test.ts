import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nodeRuntime, QueueRunner, readQueue, RunManager, type QueueData } from '../../src/runs';
import { tempFiles } from '../helpers/tmp';

// A repository can commit work_dirs/.queue.json. The editor serves every folder's queue from the
// moment it activates (`workspaceContains:work_dirs/.queue.json`), so a clone opened in a trusted
// folder (or under a trusted parent) started its trainings — its configs, their custom_imports —
// before anyone asked. The editor's runner holds a queue it has not been allowed to serve.
// A stub `cvw` stands for the training: it records that it was started, with its arguments.
const STUB = `require('node:fs').writeFileSync(process.env.CVW_STUB_MARKER, JSON.stringify(process.argv.slice(2)));\n`;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function clonedRepository(entries: unknown[]) {
  const t = tempFiles({
    'configs/x.yaml': 'model: {type: Classification}\n',
    // As committed to the repository, not written by this machine's cvw.
    'work_dirs/.queue.json': JSON.stringify({ version: 1, paused: false, seq: entries.length, entries }),
    'stub/cvw.js': STUB,
  });
  const manager = new RunManager(() => ({ node: nodeRuntime(), cvw: { entry: t.file('stub/cvw.js'), source: 'setting', packageRoot: t.file('stub') } }));
  cleanups.push(() => manager.dispose(), t.cleanup);
  return { t, manager, marker: t.file('started.json') };
}

const queued = (id: string) => ({ id, config: 'configs/x.yaml', overrides: ['--custom_imports', 'evil.js'], added: '2026-01-01T00:00:00.000Z', state: 'queued' });

async function until(runner: QueueRunner, done: (q: QueueData) => boolean, ms = 20_000): Promise<QueueData> {
  const end = Date.now() + ms;
  for (;;) {
    const q = runner.tick();
    if (done(q)) return q;
    if (Date.now() > end) throw new Error(`queue not settled: ${JSON.stringify(q, null, 1)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a run queue that came with the folder', () => {
  it('the editor\'s runner starts none of its entries until the queue is allowed there; then it starts them', async () => {
    const { t, manager, marker } = clonedRepository([queued('q1')]);
    let allowed = false;
    const runner = new QueueRunner(manager, { root: t.dir, mayStart: () => allowed, env: { CVW_STUB_MARKER: marker } });
    cleanups.push(() => runner.dispose());
    const before = fs.readFileSync(t.file('work_dirs/.queue.json'), 'utf8');
    for (let i = 0; i < 3; i++) expect(runner.tick().entries.map((e) => e.state)).toEqual(['queued']);
    expect(manager.running()).toHaveLength(0);
    expect(fs.existsSync(marker)).toBe(false);
    // Held, not changed: nothing in the file says the editor touched it.
    expect(fs.readFileSync(t.file('work_dirs/.queue.json'), 'utf8')).toBe(before);
    expect(fs.existsSync(t.file('work_dirs/x'))).toBe(false);

    // The person starts the queue (Start in the notification, Queue Training, Resume Queue).
    allowed = true;
    expect(runner.tick().entries[0].state).toBe('running');
    await until(runner, (q) => q.entries[0].state !== 'running');
    expect(JSON.parse(fs.readFileSync(marker, 'utf8'))).toEqual(['train', t.file('configs/x.yaml'), '--work-dir', readQueue(t.dir).entries[0].runDir, '--custom_imports', 'evil.js']);
  });

  it('a held queue still follows what runs: an entry whose process is gone is settled, the queued one waits', () => {
    // q1 as a runner before a window reload left it; its process has ended since (no pid is above 2^22).
    const gone = { ...queued('q1'), state: 'running', runDir: path.join(os.tmpdir(), 'cvw-no-such-run'), pid: 2 ** 22 + 1, host: os.hostname(), started: '2026-01-01T00:00:01.000Z' };
    const { t, manager, marker } = clonedRepository([gone, queued('q2')]);
    const runner = new QueueRunner(manager, { root: t.dir, mayStart: () => false, env: { CVW_STUB_MARKER: marker } });
    cleanups.push(() => runner.dispose());
    expect(runner.tick().entries.map((e) => e.state)).toEqual(['failed', 'queued']);
    expect(readQueue(t.dir).entries.map((e) => e.state)).toEqual(['failed', 'queued']);
    expect(manager.running()).toHaveLength(0);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("an entry running on another host, with the queue's lock committed too, costs a tick no lock and no wait", () => {
    // Its process cannot be looked at from here: it stays running, nothing to write. The lock
    // says it was taken in the future, which never grew stale, and every tick (once a second)
    // waited 10 s for it on the extension host.
    const elsewhere = { ...queued('q1'), state: 'running', runDir: path.join(os.tmpdir(), 'cvw-no-such-run'), pid: 4242, host: 'another-machine', started: '2026-01-01T00:00:01.000Z' };
    const { t, manager } = clonedRepository([elsewhere, queued('q2')]);
    const lock = t.file('work_dirs/.queue.json.lock');
    const lockText = JSON.stringify({ pid: 4242, host: 'another-machine', since: Date.now() + 1e12 });
    fs.writeFileSync(lock, lockText);
    const runner = new QueueRunner(manager, { root: t.dir, mayStart: () => false });
    cleanups.push(() => runner.dispose());
    const started = Date.now();
    for (let i = 0; i < 5; i++) expect(runner.tick().entries.map((e) => e.state)).toEqual(['running', 'queued']);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fs.readFileSync(lock, 'utf8')).toBe(lockText);
  });
});
