import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readQueue, readRunRecord, updateQueue, type QueueData } from '../../src/runs';
import { tempFiles } from '../helpers/tmp';
import { bundleTestCli, type TestCli } from './cli';
import { tinyClassificationYaml } from '../helpers/tinyConfig';

const t = tempFiles({ 'configs/tiny.yaml': tinyClassificationYaml({ seed: 7, runner: 'max_epochs: 1, log_interval: 1' }) });
let cli: TestCli;

beforeAll(async () => {
  cli = await bundleTestCli();
}, 120_000);
afterAll(() => {
  t.cleanup();
  cli?.cleanup();
});

/** The bundled `cvw` as a child process in the workspace. */
function cvw(...argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [cli.entry, ...argv], { cwd: t.dir });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

describe('cvw queue', () => {
  it('add (overrides in both spellings, train options), list, remove, run --parallel 2 on the same file', async () => {
    expect(await cvw('queue', 'add', 'configs/tiny.yaml', 'optimizer.lr=0.05', '--max-iters', '2')).toMatchObject({ code: 0, out: 'q1\n' });
    expect(await cvw('queue', 'add', 'configs/tiny.yaml', '--optimizer.lr', '0.07')).toMatchObject({ code: 0, out: 'q2\n' });
    expect(await cvw('queue', 'add', 'configs/tiny.yaml')).toMatchObject({ code: 0, out: 'q3\n' });
    const stray = await cvw('queue', 'add', 'configs/tiny.yaml', 'lr0.1');
    expect(stray.code).toBe(2);
    expect(stray.err).toContain('"lr0.1": expected a config override key.path=value');
    const missing = await cvw('queue', 'add', 'configs/nope.yaml');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('configs/nope.yaml: no such config file');
    // The config with its overrides is checked when it is added, not hours later when it starts.
    const wrongValue = await cvw('queue', 'add', 'configs/tiny.yaml', 'optimizer.lr=fast');
    expect(wrongValue).toMatchObject({ code: 1, err: expect.stringContaining('optimizer.lr=fast: optimizer.lr: expected number > 0, got "fast"') });
    const wrongBackend = await cvw('queue', 'add', 'configs/tiny.yaml', '--backend', 'nosuch');
    expect(wrongBackend).toMatchObject({ code: 2, err: expect.stringContaining('cvw queue add: --backend must be one of auto, tensorflow, webgpu, wasm-ort, wasm, cpu, got "nosuch"') });

    const listed = JSON.parse((await cvw('queue', 'list', '--json')).out) as QueueData;
    expect(listed.entries.map((e) => [e.id, e.config, e.overrides, e.state])).toEqual([
      ['q1', 'configs/tiny.yaml', ['--optimizer.lr', '0.05', '--max-iters', '2'], 'queued'],
      ['q2', 'configs/tiny.yaml', ['--optimizer.lr', '0.07'], 'queued'],
      ['q3', 'configs/tiny.yaml', [], 'queued'],
    ]);
    expect((await cvw('queue', 'remove', 'q3')).out).toBe('removed q3 (queued)\n');
    const bad = await cvw('queue', 'remove', 'q3');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/work_dirs\/\.queue\.json: no entry q3 \(entries: q1, q2\)/);
    expect((await cvw('queue', 'list')).out).toMatch(/^queue active: 2 entries\nq1 {2}queued +configs\/tiny\.yaml {2}--optimizer\.lr 0\.05 --max-iters 2\n/);

    const run = await cvw('queue', 'run', '--parallel', '2');
    expect(run.code).toBe(0);
    const q = readQueue(t.dir);
    expect(q.entries.map((e) => e.state)).toEqual(['done', 'done']);
    const [a, b] = q.entries.map((e) => readRunRecord(e.runDir!)!);
    expect(a.info.iter).toBe(2); // --max-iters 2
    expect(b.info.iter).toBe(3); // one epoch
    expect(fs.readFileSync(path.join(b.dir, 'config.yaml'), 'utf8')).toMatch(/lr: 0\.07\b/);
    // Both at once: the runner started each before the other ended. The queue's own times, not the
    // runs': a two-iteration run can finish before the other process has loaded (CI under load).
    const [started, ended] = [q.entries.map((e) => Date.parse(e.started!)), q.entries.map((e) => Date.parse(e.ended!))];
    expect(Math.max(...started)).toBeLessThan(Math.min(...ended));
    expect(run.err).toMatch(/q1 {2}done +configs/);

    // An entry left `running` by a runner that is gone (an editor closed since): `list` reads how its run ended.
    updateQueue(t.dir, (q) => {
      q.entries[1].state = 'running';
    });
    expect((JSON.parse((await cvw('queue', 'list', '--json')).out) as QueueData).entries.map((e) => e.state)).toEqual(['done', 'done']);
    expect(readQueue(t.dir).entries[1].state).toBe('done');
  }, 180_000);
});
