import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';

// Every failure path of the commands that open loaders (decoding worker threads), each in a real
// `cvw` process: the process must exit with the located error, not hang on a worker or a file
// left open (run.json already saying `failed` while the process never ends).
const root = path.resolve(__dirname, '../..');
const cvw = path.join(root, 'bin', 'cvw.js');
const images = path.join(root, 'data', 'images-sample');
const t = tempFiles({ 'tiny.yaml': tinyClassificationYaml({ seed: 5, runner: 'max_iters: 2', val: true }) });
afterAll(() => t.cleanup());
const run = t.file('run');
const corrupt = t.file('corrupt');
// One worker thread per loader: with `workers: 0` nothing would keep a process alive.
const WORKERS = ['--data.workers', '1'];
/** A process that has not exited by then hangs (a healthy one takes a few seconds). */
const EXIT_WITHIN_MS = 60_000;

async function cli(args: string[], onStart?: (p: ChildProcess) => void): Promise<{ code: number | null; err: string; hung: boolean }> {
  const p = spawn(process.execPath, [cvw, ...args], { cwd: t.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  onStart?.(p);
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    p.kill('SIGKILL');
  }, EXIT_WITHIN_MS);
  const code = await new Promise<number | null>((resolve) => p.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, err, hung };
}

function expectFailedExit(r: { code: number | null; err: string; hung: boolean }, message: RegExp): void {
  expect(r.hung, `still running after ${EXIT_WITHIN_MS / 1000} s; stderr:\n${r.err}`).toBe(false);
  expect(r.code).toBe(1);
  expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/internal error/);
}

const runJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));

/** A copy of the trained run whose latest checkpoint lost its second half (or holds `bytes`). */
function truncatedRun(name: string, bytes?: Buffer): string {
  const dir = t.file(name);
  fs.cpSync(run, dir, { recursive: true });
  const latest = path.join(dir, 'checkpoints', 'latest.safetensors');
  if (bytes) fs.writeFileSync(latest, bytes);
  else fs.truncateSync(latest, Math.floor(fs.statSync(latest).size / 2));
  fs.rmSync(path.join(dir, 'checkpoints', 'best.safetensors'), { force: true });
  return dir;
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const r = spawnSync(process.execPath, [cvw, 'train', 'tiny.yaml', '--work-dir', run, '-q', ...WORKERS], { cwd: t.dir, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  // The sample images and some that are not images: reading one stops an epoch (no skip_corrupt).
  fs.cpSync(images, corrupt, { recursive: true });
  for (const i of [0, 1, 2, 3]) fs.writeFileSync(path.join(corrupt, 'bag', `broken-${i}.png`), 'not a png');
}, 120_000);

describe('cvw train exits after a failure', () => {
  it('in set-up, after the training data opened', async () => {
    const dir = t.file('accumulate');
    const r = await cli(['train', 'tiny.yaml', '--work-dir', dir, '-q', ...WORKERS, '--runner.accumulate_steps', '100000']);
    expectFailedExit(r, /data\.train gives 3 batch\(es\) per epoch, fewer than runner\.accumulate_steps \(100000\)/);
    expect(runJson(dir).status).toBe('failed');
    expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(false);
  }, 90_000);

  it('in set-up, after the training and evaluation data opened (load_from missing)', async () => {
    const dir = t.file('load-from');
    const missing = t.file('nowhere.safetensors');
    const r = await cli(['train', 'tiny.yaml', '--work-dir', dir, '-q', ...WORKERS, '--load_from', missing]);
    expectFailedExit(r, new RegExp(`checkpoint not found: ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(runJson(dir).status).toBe('failed');
  }, 90_000);

  it.each([
    ['cut in half', undefined],
    ['cut to 4 bytes', Buffer.from([1, 0, 0, 0])],
    ['whose header length lies', Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0]), Buffer.from('{}')])],
  ])('on resume from a checkpoint %s', async (name, bytes) => {
    const dir = truncatedRun(`truncated-${name.replace(/ /g, '-')}`, bytes);
    const r = await cli(['train', '--resume', dir, '-q', ...WORKERS]);
    expectFailedExit(r, /latest\.safetensors/);
    // Refused before its first step: the finished run stays finished, the log says why.
    const info = runJson(dir);
    expect(info.status).toBe('finished');
    expect(info.error).toBeUndefined();
    expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toMatch(/resume refused, the run is left finished: .*latest\.safetensors/);
  }, 90_000);

  it('while training, on an unreadable image with batches in flight', async () => {
    const dir = t.file('corrupt-train');
    const r = await cli(['train', 'tiny.yaml', '--work-dir', dir, '-q', ...WORKERS, '--data.train.source.root', corrupt, '--runner.max_iters', '8']);
    expectFailedExit(r, /broken-\d\.png/);
    expect(runJson(dir).status).toBe('failed');
  }, 90_000);
});

describe('cvw train stopped by Ctrl+C', () => {
  it('during set-up (before the first step): status stopped, exit 130, lock released', async () => {
    const dir = t.file('interrupted-setup');
    const log = path.join(dir, 'log.txt');
    const r = await cli(['train', 'tiny.yaml', '--work-dir', dir, '-q', '--data.workers', '2', '--runner.max_iters', '3000'], (p) => {
      // As soon as the run directory is written: the runner is being built (or has just begun).
      const poll = setInterval(() => {
        if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('run directory:')) {
          clearInterval(poll);
          p.kill('SIGINT');
        }
      }, 5);
      p.on('exit', () => clearInterval(poll));
    });
    expect(r.hung).toBe(false);
    expect(r.code).toBe(130);
    expect(runJson(dir).status).toBe('stopped');
    expect(fs.readFileSync(log, 'utf8')).toMatch(/stopped \(SIGINT\)/);
    expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(false);
  }, 90_000);
});

describe('the other commands that open loaders exit after a failure', () => {
  it.each([
    ['eval', [run, ...WORKERS, '--data.val.source.root', corrupt]],
    ['benchmark knn', [run, '--k', '3', '--no-cache', ...WORKERS, '--data.val.source.root', corrupt]],
    ['extract', [run, '--split', 'val', ...WORKERS, '--data.val.source.root', corrupt]],
  ])('cvw %s on unreadable data', async (command, args) => {
    expectFailedExit(await cli([...command.split(' '), ...(args as string[])]), /broken-\d\.png/);
  }, 90_000);

  it('cvw export and cvw predict of a truncated checkpoint', async () => {
    const dir = truncatedRun('truncated-export');
    expectFailedExit(await cli(['export', dir, '--out', t.file('m.onnx')]), /latest\.safetensors/);
    fs.writeFileSync(t.file('random.onnx'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) % 251)));
    expectFailedExit(await cli(['predict', t.file('random.onnx'), path.join(images, 'bag')]), /random\.onnx/);
  }, 90_000);
});
