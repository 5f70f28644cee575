import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';
import { waitFor } from '../helpers/wait';

// Real `cvw train` processes: SIGINT stops cleanly; SIGKILL after a checkpoint, then --resume,
// gives the metrics of an uninterrupted run.
const root = path.resolve(__dirname, '../..');
const cvw = path.join(root, 'bin', 'cvw.js');
const config = tinyClassificationYaml({ seed: 11, runner: 'max_epochs: 6, log_interval: 1' });
const t = tempFiles({ 'tiny.yaml': config });
afterAll(() => t.cleanup());
beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
});

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, [cvw, 'train', ...args], { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

const exited = (p: ChildProcess) => new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
const losses = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((m) => m.split === 'train' && m.loss !== undefined)
    .map((m) => [m.iter, m.loss]);
const status = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).status;

describe('cvw train processes', () => {
  const full = path.join(t.dir, 'full');

  it('runs to the end', () => {
    const r = spawnSync(process.execPath, [cvw, 'train', 'tiny.yaml', '--work-dir', full, '-q'], { cwd: t.dir, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(status(full)).toBe('finished');
    expect(losses(full)).toHaveLength(18);
  });

  it('SIGINT: a last checkpoint, status stopped, exit status 130', async () => {
    const dir = path.join(t.dir, 'interrupted');
    const p = start(['tiny.yaml', '--work-dir', dir]);
    await waitFor(() => fs.existsSync(path.join(dir, 'metrics.jsonl')) && losses(dir).length >= 4, 'a few iterations');
    p.kill('SIGINT');
    expect(await exited(p)).toBe(130);
    expect(status(dir)).toBe('stopped');
    expect(fs.existsSync(path.join(dir, 'checkpoints', 'latest.safetensors'))).toBe(true);
    const r = spawnSync(process.execPath, [cvw, 'train', '--resume', dir, '-q'], { cwd: t.dir, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(losses(dir)).toEqual(losses(full));
  });

  it('SIGKILL after an epoch checkpoint, then --resume: metrics.jsonl reads like the uninterrupted run', async () => {
    const dir = path.join(t.dir, 'killed');
    const p = start(['tiny.yaml', '--work-dir', dir]);
    await waitFor(() => fs.existsSync(path.join(dir, 'checkpoints', 'epoch_2.safetensors')), 'the epoch 2 checkpoint');
    await waitFor(() => losses(dir).length >= 7, 'an iteration past the checkpoint');
    p.kill('SIGKILL');
    await exited(p);
    expect(status(dir)).toBe('running');
    const r = spawnSync(process.execPath, [cvw, 'train', '--resume', dir, '-q'], { cwd: t.dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(status(dir)).toBe('finished');
    expect(losses(dir)).toEqual(losses(full));
  });

  it('a finished run copied and resumed with more epochs: the same first epochs, then more, under the name of the copy', () => {
    const dir = path.join(t.dir, 'extended');
    fs.cpSync(full, dir, { recursive: true });
    const r = spawnSync(process.execPath, [cvw, 'train', '--resume', dir, '--runner.max_epochs', '8', '-q'], { cwd: t.dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(losses(dir).slice(0, 18)).toEqual(losses(full));
    expect(losses(dir)).toHaveLength(24);
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(info).toMatchObject({ run_id: 'extended', status: 'finished', max_epochs: 8 });
    expect(JSON.parse(fs.readFileSync(path.join(full, 'run.json'), 'utf8')).run_id).toBe('full');
  });
});
