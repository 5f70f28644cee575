import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mallocNote, mallocTunablesSet, MALLOC_TUNABLES, usesGlibc, withMallocTunables } from '../../src/core/mallocTunables';
import { NO_RELAUNCH_ENV, shouldRelaunch } from '../../src/cli/relaunch';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';
import { waitFor } from '../helpers/wait';

// `cvw train` relaunches itself with glibc's malloc tunables (src/cli/relaunch.ts): the training
// runs in the second process, which must behave as the first would have: signals reach it once,
// its exit status is the command's, and it dies with its launcher.
const root = path.resolve(__dirname, '../..');
const cvw = path.join(root, 'bin', 'cvw.js');
const t = tempFiles({ 'tiny.yaml': tinyClassificationYaml({ seed: 5, runner: 'max_epochs: 40, log_interval: 1' }) });
afterAll(() => t.cleanup());
beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'relaunch.js'))) throw new Error('run `npm run build` first');
});

const TUNABLES = MALLOC_TUNABLES.join(':');

describe('glibc malloc tunables', () => {
  it('are added to GLIBC_TUNABLES, keeping what the user set', () => {
    expect(withMallocTunables({}).GLIBC_TUNABLES).toBe(TUNABLES);
    const env = withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=5:glibc.cpu.hwcaps=-AVX512F' });
    expect(env.GLIBC_TUNABLES).toBe('glibc.malloc.trim_threshold=5:glibc.cpu.hwcaps=-AVX512F:glibc.malloc.mmap_threshold=33554432:glibc.malloc.top_pad=67108864');
    expect(mallocTunablesSet(env)).toBe(true);
    expect(mallocTunablesSet({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=5' })).toBe(false);
    expect(withMallocTunables(env)).toBe(env);
  });

  it('are reported by cvw env: whether they apply, are set, and how to set them', () => {
    expect(mallocNote(['train'], {}, false)).toBe('not glibc: nothing to tune');
    expect(mallocNote(['train', 'eval'], {}, true)).toBe(`glibc defaults in this process; cvw train, eval run under GLIBC_TUNABLES=${TUNABLES} (the Node API: set it before starting node)`);
    expect(mallocNote(['train'], { GLIBC_TUNABLES: TUNABLES }, true)).toBe(`glibc, freed tensor memory kept (GLIBC_TUNABLES=${TUNABLES})`);
  });

  it('relaunch the engine-heavy commands only, once', () => {
    // CI and this project's machines are Debian: glibc.
    expect(usesGlibc()).toBe(process.platform === 'linux');
    const bare = { PATH: process.env.PATH };
    expect(shouldRelaunch(['train', 'a.yaml'], bare)).toBe(usesGlibc());
    expect(shouldRelaunch(['benchmark', 'knn', 'run'], bare)).toBe(usesGlibc());
    expect(shouldRelaunch(['validate', 'a.yaml'], bare)).toBe(false);
    expect(shouldRelaunch(['train', '--help'], bare)).toBe(false);
    expect(shouldRelaunch(['train', 'a.yaml'], { ...bare, CVW_RELAUNCHED: '1' })).toBe(false);
    expect(shouldRelaunch(['train', 'a.yaml'], { ...bare, [NO_RELAUNCH_ENV]: '1' })).toBe(false);
    expect(shouldRelaunch(['train', 'a.yaml'], withMallocTunables(bare))).toBe(false);
  });
});

function start(dir: string): ChildProcess {
  const env = { ...process.env };
  delete env[NO_RELAUNCH_ENV];
  delete env.GLIBC_TUNABLES;
  return spawn(process.execPath, [cvw, 'train', 'tiny.yaml', '--work-dir', dir], { cwd: t.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

const runRecord = (dir: string) => (fs.existsSync(path.join(dir, 'run.json')) ? JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) : undefined);
const iterations = (dir: string) => (fs.existsSync(path.join(dir, 'metrics.jsonl')) ? fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"loss"')).length : 0);
const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** A relaunched training past its first iterations: the launcher, its output so far, its exit status, the training's pid. */
async function startTraining(dir: string) {
  const p = start(dir);
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  await waitFor(() => iterations(dir) >= 3, 'a few iterations');
  return { p, stderr: () => err, exited, pid: runRecord(dir).pid as number };
}

describe.runIf(usesGlibc())('cvw train, relaunched', () => {
  it('trains in a second process with the tunables; SIGINT to the launcher stops it once (a last checkpoint, status 130)', async () => {
    const dir = path.join(t.dir, 'interrupted');
    const { p, stderr, exited, pid } = await startTraining(dir);
    expect(pid).not.toBe(p.pid);
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain('CVW_RELAUNCHED=1');
    expect(environ.find((e) => e.startsWith('GLIBC_TUNABLES='))).toMatch(/glibc\.malloc\.trim_threshold=1073741824/);
    p.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(runRecord(dir).status).toBe('stopped');
    expect(fs.existsSync(path.join(dir, 'checkpoints', 'latest.safetensors'))).toBe(true);
    // Passed on once: a second SIGINT would have ended it "without a last checkpoint".
    expect(stderr().match(/stopping after the current step/g)).toHaveLength(1);
    expect(stderr()).not.toMatch(/again: exiting/);
    expect(alive(pid)).toBe(false);
  });

  it('one stop sent to every process of the group (a supervisor: systemd, Slurm) is one stop, not "again"', async () => {
    const dir = path.join(t.dir, 'both');
    const { p, stderr, exited, pid } = await startTraining(dir);
    // The training gets it twice: from the supervisor and, a moment later (so that the kernel
    // does not merge the two into one pending signal), passed on by its launcher.
    process.kill(pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 10));
    p.kill('SIGTERM');
    expect(await exited).toBe(130); // a clean stop, whatever the signal
    expect(stderr().match(/stopping after the current step/g)).toHaveLength(1);
    expect(stderr()).not.toMatch(/again: exiting/);
    expect(runRecord(dir).status).toBe('stopped');
    expect(fs.existsSync(path.join(dir, 'checkpoints', 'latest.safetensors'))).toBe(true);
  });

  it('dies with a launcher that was killed (SIGKILL)', async () => {
    const dir = path.join(t.dir, 'killed');
    const p = start(dir);
    await waitFor(() => iterations(dir) >= 2, 'a few iterations');
    const pid = runRecord(dir).pid as number;
    p.kill('SIGKILL');
    await waitFor(() => !alive(pid), 'the relaunched process to end', 20_000);
    expect(runRecord(dir).status).toBe('running'); // killed, as the launcher was: no last word
  });
});
