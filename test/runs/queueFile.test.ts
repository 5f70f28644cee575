import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addToQueue, clearFinished, holdInQueue, moveInQueue, queueFile, QueueLockBusy, readQueue, removeFromQueue, setQueuePaused, updateQueue } from '../../src/runs';
import { tempFiles } from '../helpers/tmp';
import { REPO_ROOT } from './cli';

const t = tempFiles({ 'configs/a.yaml': 'x: 1\n' });
let bundle: string;

beforeAll(async () => {
  // queueFile.ts as plain CommonJS, for child processes that edit the queue at the same time as others.
  fs.mkdirSync(path.join(REPO_ROOT, 'tmp'), { recursive: true });
  bundle = path.join(fs.mkdtempSync(path.join(REPO_ROOT, 'tmp', 'queue-')), 'queueFile.cjs');
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [path.join(REPO_ROOT, 'src/runs/queueFile.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'error' });
});
afterAll(() => {
  t.cleanup();
  if (bundle) fs.rmSync(path.dirname(bundle), { recursive: true, force: true });
});

function adder(root: string, tag: string, n: number): Promise<number | null> {
  const script = `const q = require(${JSON.stringify(bundle)}); for (let i = 0; i < ${n}; i++) q.addToQueue(${JSON.stringify(root)}, 'configs/a.yaml', ['--tag', '${tag}' + i]);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', resolve));
}

describe('the queue file', () => {
  it('two processes adding at once lose nothing: every entry is there once, with distinct ids', async () => {
    const root = t.file('concurrent');
    const codes = await Promise.all([adder(root, 'a', 150), adder(root, 'b', 150)]);
    expect(codes).toEqual([0, 0]);
    const q = readQueue(root);
    expect(q.entries).toHaveLength(300);
    expect(new Set(q.entries.map((e) => e.id)).size).toBe(300);
    expect(q.seq).toBe(300);
    const tags = q.entries.map((e) => e.overrides[1]);
    for (const tag of ['a', 'b']) {
      const mine = tags.filter((x) => x.startsWith(tag));
      // each process's entries arrive in its own order
      expect(mine).toEqual(Array.from({ length: 150 }, (_, i) => `${tag}${i}`));
    }
    expect(fs.readdirSync(path.dirname(queueFile(root))).sort()).toEqual(['.queue.json']); // no lock or temp file left
  });

  it('stores configs relative to the workspace, reorders, holds, pauses, removes', () => {
    const root = t.dir;
    const a = addToQueue(root, t.file('configs/a.yaml'), ['--optimizer.lr', '0.1'], new Date('2026-01-02T03:04:05Z'));
    const b = addToQueue(root, 'configs/a.yaml');
    const c = addToQueue(root, '/elsewhere/c.yaml');
    expect(a).toMatchObject({ id: 'q1', config: 'configs/a.yaml', overrides: ['--optimizer.lr', '0.1'], added: '2026-01-02T03:04:05.000Z', state: 'queued' });
    expect(c.config).toBe('/elsewhere/c.yaml');
    moveInQueue(root, c.id, -1);
    moveInQueue(root, a.id, -1); // already first: stays
    expect(readQueue(root).entries.map((e) => e.id)).toEqual(['q1', 'q3', 'q2']);
    holdInQueue(root, b.id, true);
    expect(readQueue(root).entries.find((e) => e.id === b.id)!.state).toBe('paused');
    holdInQueue(root, b.id, false);
    expect(readQueue(root).entries.find((e) => e.id === b.id)!.state).toBe('queued');
    setQueuePaused(root, true);
    expect(readQueue(root).paused).toBe(true);
    expect(removeFromQueue(root, 'q3').config).toBe('/elsewhere/c.yaml');
    expect(() => removeFromQueue(root, 'q9')).toThrow(/\.queue\.json: no entry q9 \(entries: q1, q2\)/);
    updateQueue(root, (q) => {
      q.entries[0].state = 'done';
    });
    expect(clearFinished(root)).toBe(1);
    // ids are never reused, even after removals
    expect(addToQueue(root, 'configs/a.yaml').id).toBe('q4');
  });

  it('a lock left by a process that is gone is taken over; a broken file is an error naming the key', async () => {
    const root = t.file('stale');
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.on('exit', r));
    fs.mkdirSync(path.join(root, 'work_dirs'), { recursive: true });
    fs.writeFileSync(`${queueFile(root)}.lock`, JSON.stringify({ pid: dead.pid, host: os.hostname(), since: Date.now() }));
    expect(addToQueue(root, 'configs/a.yaml').id).toBe('q1');
    expect(fs.existsSync(`${queueFile(root)}.lock`)).toBe(false);

    // Left empty by a writer killed between creating and filling it (or a full disk): taken over
    // once it is old, where it held the queue for ever.
    fs.writeFileSync(`${queueFile(root)}.lock`, '');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(`${queueFile(root)}.lock`, old, old);
    const started = Date.now();
    expect(addToQueue(root, 'configs/a.yaml').id).toBe('q2');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fs.existsSync(`${queueFile(root)}.lock`)).toBe(false);

    // Another host's (its process cannot be looked at), saying it was taken in the future: held
    // since its last write, so a wait gives up, and one written over 30 s ago is taken over.
    fs.writeFileSync(`${queueFile(root)}.lock`, JSON.stringify({ pid: 4242, host: 'another-machine', since: Date.now() + 1e12 }));
    expect(() => updateQueue(root, () => undefined, { waitMs: 50 })).toThrow(QueueLockBusy);
    fs.utimesSync(`${queueFile(root)}.lock`, old, old);
    expect(addToQueue(root, 'configs/a.yaml').id).toBe('q3');
    expect(fs.existsSync(`${queueFile(root)}.lock`)).toBe(false);

    fs.writeFileSync(queueFile(root), JSON.stringify({ version: 1, entries: [{ id: 'q1', config: 'a.yaml', overrides: [], state: 'sleeping' }] }));
    expect(() => readQueue(root)).toThrow(/\.queue\.json: entries\[0\]\.state: expected queued \| running \| done \| failed \| paused/);
    // Fields a hand edit may break are checked too (a number as runDir was a TypeError later).
    fs.writeFileSync(queueFile(root), JSON.stringify({ version: 1, entries: [{ id: 'q1', config: 'a.yaml', overrides: [], state: 'done', runDir: 7 }] }));
    expect(() => readQueue(root)).toThrow(/\.queue\.json: entries\[0\]\.runDir: expected a string/);
    fs.writeFileSync(queueFile(root), JSON.stringify({ version: 1, entries: [{ id: 'q1', config: 'a.yaml', overrides: [], state: 'running', pid: '12' }] }));
    expect(() => readQueue(root)).toThrow(/\.queue\.json: entries\[0\]\.pid: expected a process id/);
    // A binary file: its bytes are shown escaped, never sent to the terminal (an ESC would be read as a command).
    fs.writeFileSync(queueFile(root), Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x00, 0xff]));
    expect(() => readQueue(root)).toThrow(/not JSON \(Unexpected token '\\x1b'/);
    let message = '';
    try {
      readQueue(root);
    } catch (e) {
      message = (e as Error).message;
    }
    expect([...message].filter((c) => c.charCodeAt(0) < 0x20 && c !== '\n' && c !== '\t')).toEqual([]);
  });

  it('a queue file or lock that is a FIFO or a link to /dev/zero is refused at once (the editor reads the queue as it opens)', () => {
    const root = t.file('hostile');
    fs.mkdirSync(path.join(root, 'work_dirs'), { recursive: true });
    fs.symlinkSync('/dev/zero', queueFile(root));
    expect(() => readQueue(root)).toThrow(/queue file .*\.queue\.json is a character device; expected a regular file/);
    fs.rmSync(queueFile(root));
    execFileSync('mkfifo', [queueFile(root)]);
    expect(() => readQueue(root)).toThrow(/is a FIFO/);
    fs.rmSync(queueFile(root));
    execFileSync('mkfifo', [`${queueFile(root)}.lock`]);
    expect(() => addToQueue(root, 'configs/a.yaml')).toThrow(/queue lock .*\.lock is a FIFO \(named pipe\); expected a regular file; delete it if no cvw or editor uses the queue/);
  });
});
