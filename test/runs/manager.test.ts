import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crashPlaces, nodeRuntime, RunManager, RunWatcher, type MetricRecord, type RunChange, type RunRecord } from '../../src/runs';
import { tempFiles } from '../helpers/tmp';
import { bundleTestCli, REPO_ROOT, type TestCli } from './cli';
import { tinyClassificationYaml } from '../helpers/tinyConfig';
import { waitFor } from '../helpers/wait';

// Real `cvw train` child processes on the wasm engine: a narrow ResNet on 16x16 crops of the
// 12 sample images, 3 iterations per epoch. The runs a test stops are far longer than the test
// (long.yaml: 3,000 iterations): one that finished before the watcher saw it running, as on a
// loaded machine, left the test waiting for a state that would never come.
const tiny = (epochs: number, extra = '') => tinyClassificationYaml({ seed: 3, runner: `max_epochs: ${epochs}, log_interval: 1`, extra });

// A custom hook that throws at iteration 2, from line 9 column 13 of its TypeScript source.
const boomHook = `import { register, z } from 'cv-workbench';

class BoomHook {
  readonly name = 'BoomHook';
  readonly priority = 50;
  constructor(private readonly at: number) {}
  afterIter(runner: { iter: number }): void {
    if (runner.iter >= this.at) {
      throw new Error(\`boom at iteration \${runner.iter}\`);
    }
  }
}

register('hook', { type: 'BoomHook', description: 'Throws', params: z.strictObject({ at: z.number().int() }), build: (p) => new BoomHook(p.at) });
`;

// Data held in memory (Fashion-MNIST): the training loop never waits on I/O by itself.
const inMemory = `
engine: { backend: wasm }
model:
  type: Classification
  backbone: { type: ResNet, depth: 18, stem: cifar, in_channels: 1, base_width: 4 }
  head: { type: ClsHead, num_classes: 10 }
data:
  workers: 0
  train:
    type: ClsDataset
    batch_size: 16
    source: { type: FashionMNIST, root: ${REPO_ROOT}/data/fashion-mnist-sample, subset: train }
    pipeline: [{ type: ToTensor }]
optimizer: { type: SGD, lr: 0.05 }
runner: { max_iters: 2000, log_interval: 1 }
`;

const t = tempFiles({
  'configs/memory.yaml': inMemory,
  'configs/short.yaml': tiny(1),
  'configs/long.yaml': tiny(1000),
  'configs/quiet.yaml': tinyClassificationYaml({ seed: 3, runner: 'max_epochs: 1000, log_interval: 1000' }),
  'configs/boom.yaml': tiny(2, 'custom_imports: [../hooks/boom_hook.ts]\nhooks: [{ type: BoomHook, at: 2 }]\n'),
  'configs/bad.yaml': tiny(1).replace('stem: cifar', 'stem: cifra'),
  'hooks/boom_hook.ts': boomHook,
});
let cli: TestCli;
let manager: RunManager;
let watcher: RunWatcher;

beforeAll(async () => {
  cli = await bundleTestCli();
  manager = new RunManager(() => ({ node: nodeRuntime(), cvw: { entry: cli.entry, source: 'bundled', packageRoot: cli.root } }));
  watcher = await RunWatcher.start([t.file('work_dirs')], { livenessMs: 200 });
}, 120_000);
afterAll(async () => {
  manager?.dispose();
  await watcher?.close();
  t.cleanup();
  cli?.cleanup();
});

/**
 * Resolve with the first run change for which `predicate` holds (or one already true); reject
 * after 40 s, before the test's own timeout, with the last state seen, so a failure says why.
 */
function runState(dir: string, predicate: (r: RunRecord) => boolean): Promise<RunRecord> {
  const now = watcher.get(dir);
  if (now && predicate(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    let last = now;
    const timer = setTimeout(() => {
      d.dispose();
      reject(new Error(`${dir}: waited 40 s for ${predicate.toString()}; last seen: ${last ? `${last.state}, iteration ${last.info.iter}` : 'nothing'}`));
    }, 40_000);
    const d = watcher.onChange((c: RunChange) => {
      if (c.run.dir !== dir || c.kind === 'removed') return;
      last = c.run;
      if (predicate(c.run)) {
        clearTimeout(timer);
        d.dispose();
        resolve(c.run);
      }
    });
  });
}

function trainLosses(dir: string): Array<[number, number]> {
  return fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as MetricRecord)
    .filter((m) => m.split === 'train')
    .map((m) => [m.iter!, m.loss!]);
}

describe('RunManager with real cvw train processes', () => {
  it('trains: the run appears running under work_dirs/<stem>/, its metrics arrive as they are written, it finishes', async () => {
    const run = manager.train({ config: 'configs/short.yaml', cwd: t.dir });
    expect(path.dirname(run.runDir)).toBe(t.file('work_dirs/short'));
    const followed: MetricRecord[] = [];
    let follow: { dispose(): void } | undefined;
    const running = await runState(run.runDir, (r) => r.state === 'running');
    expect(running.info.pid).toBe(run.pid);
    follow = watcher.followMetrics(run.runDir, ({ records }) => followed.push(...records));
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    const finished = await runState(run.runDir, (r) => r.state === 'finished');
    expect(finished.info.iter).toBe(3);
    await waitFor(() => followed.filter((m) => m.split === 'train').length === 3, 'the three training records followed', 20_000);
    follow.dispose();
    follow = undefined;
    expect(followed.filter((m) => m.split === 'train').map((m) => m.iter)).toEqual([1, 2, 3]);
    expect(fs.readFileSync(path.join(run.runDir, 'output.log'), 'utf8')).toContain('finished');
    expect(run.tail(3)).toContain('finished');
  });

  it('stops with SIGINT (a last checkpoint, status stopped), then resumes to the end with every iteration once', async () => {
    const run = manager.train({ config: 'configs/long.yaml', cwd: t.dir });
    await runState(run.runDir, (r) => r.state === 'running' && r.info.iter >= 2);
    expect(await manager.stop(run.runDir)).toBe('stopped');
    expect((await run.exited).code).toBe(130);
    const stopped = await runState(run.runDir, (r) => r.state === 'stopped');
    expect(stopped.resumable).toBe(true);
    expect(fs.existsSync(path.join(run.runDir, 'checkpoints', 'latest.safetensors'))).toBe(true);
    const stoppedAt = stopped.info.iter;
    expect(stoppedAt).toBeLessThan(3000);

    const resumed = manager.resume({ runDir: run.runDir, args: ['--max-iters', String(stoppedAt + 3)] });
    expect(resumed.cwd).toBe(t.dir);
    expect((await resumed.exited).code).toBe(0);
    const done = await runState(run.runDir, (r) => r.state === 'finished');
    expect(done.info.iter).toBe(stoppedAt + 3);
    expect(trainLosses(run.runDir).map(([iter]) => iter)).toEqual(Array.from({ length: stoppedAt + 3 }, (_, i) => i + 1));
    // A finished run with a checkpoint may be continued further.
    const further = manager.resume({ runDir: run.runDir, args: ['--max-iters', String(stoppedAt + 4)] });
    expect((await further.exited).code).toBe(0);
    await runState(run.runDir, (r) => r.state === 'finished' && r.info.iter === stoppedAt + 4);
  });

  it("a stopped run's run.json says where it stopped (its checkpoint), though it logged nothing since it started", async () => {
    const run = manager.train({ config: 'configs/quiet.yaml', cwd: t.dir });
    const checkpoint = path.join(run.runDir, 'checkpoints', 'latest.safetensors');
    // Nothing rewrites run.json before the stop (no log interval comes): poll for the first epoch's checkpoint.
    await waitFor(() => fs.existsSync(checkpoint), `a checkpoint in ${run.runDir}`, 40_000);
    expect(await manager.stop(run.runDir)).toBe('stopped');
    const stopped = await runState(run.runDir, (r) => r.state === 'stopped');
    const at = /stopped \(SIGINT\) at epoch (\d+), iteration (\d+)/.exec(fs.readFileSync(path.join(run.runDir, 'log.txt'), 'utf8'))!;
    expect(Number(at[2])).toBeGreaterThanOrEqual(3);
    expect([stopped.info.epoch, stopped.info.iter]).toEqual([Number(at[1]), Number(at[2])]);
  });

  it('stops a run whose data is in memory (the loop yields to the event loop, so SIGINT is handled)', async () => {
    const run = manager.train({ config: 'configs/memory.yaml', cwd: t.dir });
    await runState(run.runDir, (r) => r.state === 'running' && r.info.iter >= 2);
    expect(await manager.stop(run.runDir, { graceMs: 30_000 })).toBe('stopped');
    expect((await run.exited).code).toBe(130);
    expect((await runState(run.runDir, (r) => r.state === 'stopped')).resumable).toBe(true);
  });

  it('closing the editor (dispose) stops runs started attached; a detached run keeps going and a new session finds it running', async () => {
    const session = new RunManager(() => ({ node: nodeRuntime(), cvw: { entry: cli.entry, source: 'bundled', packageRoot: cli.root } }));
    const attached = session.train({ config: 'configs/memory.yaml', cwd: t.dir, workDir: 'work_dirs/memory/attached' });
    const detached = session.train({ config: 'configs/memory.yaml', cwd: t.dir, workDir: 'work_dirs/memory/detached', detached: true });
    await runState(attached.runDir, (r) => r.state === 'running' && r.info.iter >= 1);
    const before = await runState(detached.runDir, (r) => r.state === 'running' && r.info.iter >= 1);
    session.dispose();
    expect((await attached.exited).code).toBe(130);
    expect((await runState(attached.runDir, (r) => r.state === 'stopped')).resumable).toBe(true);
    // The detached one goes on; a fresh watcher (the next editor session) sees it running, with its output.
    const later = await RunWatcher.start([t.file('work_dirs')]);
    try {
      await runState(detached.runDir, (r) => r.info.iter > before.info.iter + 1);
      expect(later.get(detached.runDir)?.state).toBe('running');
    } finally {
      await later.close();
    }
    expect(fs.readFileSync(path.join(detached.runDir, 'output.log'), 'utf8')).toContain('iter 1/2000');
    expect(await manager.stop(detached.runDir, { graceMs: 30_000 })).toBe('stopped');
    expect((await runState(detached.runDir, (r) => r.state === 'stopped')).resumable).toBe(true);
  });

  it('stops a run it did not start (a terminal\'s), by the pid in run.json', async () => {
    const dir = t.file('work_dirs/long/from-terminal');
    const child = spawn(process.execPath, [cli.entry, 'train', 'configs/long.yaml', '--work-dir', dir], { cwd: t.dir, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await runState(dir, (r) => r.state === 'running' && r.info.iter >= 1);
    expect(manager.runFor(dir)).toBeUndefined();
    expect(await manager.stop(dir)).toBe('stopped');
    expect(await exited).toBe(130);
    expect((await runState(dir, (r) => r.state === 'stopped')).resumable).toBe(true);
    expect(await manager.stop(dir)).toBe('not-running');
  });

  it("does not signal a live process that a copied run's pid names: run.json records when its writer started", async () => {
    const dir = t.file('work_dirs/long/from-terminal');
    const original = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(original.pid_started).toBeTypeOf('number');
    // The copied run's writer started a minute before the bystander: the previous test's writer
    // may have started within the one second of slack before it (it ran for about a second).
    const record = { ...original, pid_started: original.pid_started - 60_000 };
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const copy = t.file('work_dirs/long/copied');
      fs.mkdirSync(copy, { recursive: true });
      fs.writeFileSync(path.join(copy, 'run.json'), JSON.stringify({ ...record, status: 'running', pid: bystander.pid }));
      expect(await manager.stop(copy, { graceMs: 1000 })).toBe('not-running');
      fs.writeFileSync(path.join(copy, 'run.json'), JSON.stringify({ ...record, status: 'running', pid: bystander.pid, hostname: undefined }));
      expect(await manager.stop(copy, { graceMs: 1000 })).toBe('not-running');
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();
    } finally {
      bystander.kill();
    }
  });

  it('a killed trainer shows as interrupted, and resumes', async () => {
    const run = manager.train({ config: 'configs/long.yaml', cwd: t.dir });
    await runState(run.runDir, (r) => r.state === 'running' && fs.existsSync(path.join(r.dir, 'checkpoints', 'latest.safetensors')));
    run.signal('SIGKILL');
    await run.exited;
    const interrupted = await runState(run.runDir, (r) => r.state === 'interrupted');
    expect(interrupted.info.status).toBe('running');
    expect(interrupted.resumable).toBe(true);
    const resumed = manager.resume({ runDir: run.runDir, args: ['--max-iters', String(interrupted.info.iter + 1)] });
    expect((await resumed.exited).code).toBe(0);
    expect((await runState(run.runDir, (r) => r.state === 'finished')).info.iter).toBe(interrupted.info.iter + 1);
  });

  it('a crash in a custom module: status failed, and the stack points at the module\'s own line', async () => {
    const run = manager.train({ config: 'configs/boom.yaml', cwd: t.dir });
    expect((await run.exited).code).toBe(1);
    const failed = await runState(run.runDir, (r) => r.state === 'failed');
    expect(failed.info.error?.message).toBe('boom at iteration 2');
    const places = crashPlaces(failed.info.error!.stack!, { message: failed.info.error!.message, toolkitRoots: [cli.root] });
    expect(places).toEqual([expect.objectContaining({ file: t.file('hooks/boom_hook.ts'), line: 9, message: 'boom at iteration 2', severity: 'error' })]);
    // The same place from what the process printed (CVW_DEBUG=1 prints the stack).
    expect(crashPlaces(run.tail(200), { toolkitRoots: [cli.root] })[0]).toMatchObject({ file: t.file('hooks/boom_hook.ts'), line: 9 });
  });

  it('a config error before the run exists: no run directory is left, the output names the config\'s line', async () => {
    const run = manager.train({ config: 'configs/bad.yaml', cwd: t.dir });
    expect((await run.exited).code).toBe(1);
    expect(fs.existsSync(run.runDir)).toBe(false);
    expect(fs.existsSync(t.file('work_dirs/bad'))).toBe(false);
    const places = crashPlaces(run.tail(50), { cwd: t.dir });
    expect(places).toEqual([expect.objectContaining({ file: t.file('configs/bad.yaml'), line: 6, severity: 'error' })]);
    expect(places[0].message).toMatch(/cifra/);
  });
});
