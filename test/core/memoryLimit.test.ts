import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeMemoryLimit, memoryLimit, oomKillCount, outOfMemoryNote, watchOutOfMemoryKills } from '../../src/core/memoryLimit';
import { gigabytes } from '../../src/core/format';
import { RunManager } from '../../src/runs';
import { readRunRecord } from '../../src/rundir';
import { buildBinding, mpiAvailability } from '../../src/distributed/binding';
import { makeControlGroup, type ControlGroup } from '../helpers/controlGroup';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';

// The memory a run may use is its control group's where that is lower than the machine's (a
// container, a Slurm job's --mem): the budgets are taken from it, and a process the kernel's
// out-of-memory killer ended is reported as such, with what to lower, where before it just died.
const root = path.resolve(__dirname, '../..');
const cvw = path.join(root, 'bin', 'cvw.js');
const MiB = 2 ** 20;
// Crops of 384 pixels a side need about 830 MB to train (/usr/bin/time: 186 MB at 16 pixels).
const tiny = (size: number, backbone = '') =>
  tinyClassificationYaml({ seed: 1, runner: 'max_epochs: 1, log_interval: 1' })
    .replace('RandomResizedCrop, size: 16', `RandomResizedCrop, size: ${size}`)
    .replace('base_width: 4', backbone || 'base_width: 4');
const t = tempFiles({
  'small.yaml': tiny(16),
  'large_crops.yaml': tiny(384),
  // ResNet-18 at base width 128: 44.7 million parameter values, more than a quarter of 512 MiB allows (33.6 million).
  'wide.yaml': tiny(16, 'base_width: 128'),
});
const groups: ControlGroup[] = [];
afterAll(() => {
  for (const g of groups) g.remove();
  t.cleanup();
});
beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'relaunch.js'))) throw new Error('run `npm run build` first');
});

function group(memoryBytes: number): ControlGroup | undefined {
  const g = makeControlGroup(`cvw-test-${process.pid}-${groups.length}`, { memoryBytes });
  if (g) groups.push(g);
  return g;
}

/** Run `command args` to its end: exit code or signal, stdout and stderr. */
function run(command: string, args: string[], cwd = t.dir): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES; // cvw train relaunches itself (src/cli/relaunch.ts), as a user's would
  delete env.CVW_NO_RELAUNCH;
  const p = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => p.on('close', (code, signal) => resolve({ code, signal, out, err })));
}

/** run.json of a run whose trainer the out-of-memory killer ended in its first step, as its starter recorded it. */
function expectEndedForMemory(dir: string): void {
  const record = readRunRecord(dir)!;
  expect(record.state).toBe('failed');
  expect(record.info.error?.message).toMatch(/^the training process was ended by the kernel's out-of-memory killer \(.*\): make data\.train\.batch_size .*; it ended at iteration 0\. Continue with `cvw train --resume /);
  expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toContain(`failed: ${record.info.error?.message}`);
}

describe('the memory a process may use', () => {
  it('is the machine’s outside a limited control group', () => {
    const limit = memoryLimit();
    expect(limit.bytes).toBeLessThanOrEqual(os.totalmem());
    if (limit.source === 'machine') {
      expect(limit.bytes).toBe(os.totalmem());
      expect(describeMemoryLimit(limit)).toBe(`this machine's ${gigabytes(os.totalmem())} GB`);
    }
    expect(describeMemoryLimit({ bytes: 512 * MiB, source: 'control group' })).toBe(`its control group's 0.537 GB (a container's or job's limit; the machine has ${gigabytes(os.totalmem())} GB)`);
  });

  it('an exit by SIGKILL is put down to the out-of-memory killer only when its count rose meanwhile', () => {
    if (process.platform === 'linux') expect(oomKillCount()).toBeGreaterThanOrEqual(0);
    const killedForMemory = watchOutOfMemoryKills();
    expect(killedForMemory('SIGKILL')).toBe(false);
    expect(killedForMemory('SIGINT')).toBe(false);
    expect(killedForMemory(null)).toBe(false);
  });

  it('the note says what to lower for each command', () => {
    expect(outOfMemoryNote('train')).toMatch(
      /^cvw: cvw train was ended by the kernel's out-of-memory killer \(with the other processes here it needed more than .* of memory\): make data\.train\.batch_size or the image size smaller, or data\.workers and data\.prefetch fewer, then continue with `cvw train --resume <run directory>`\n$/,
    );
    expect(outOfMemoryNote('eval')).toMatch(/ of memory\): make data\.val\.batch_size or the image size smaller \(e\.g\. --data\.val\.batch_size 16\)\n$/);
    expect(outOfMemoryNote('predict')).toMatch(/ of memory\): make --batch-size or the image size smaller\n$/);
  });
});

const cgroupsWritable = (() => {
  const g = makeControlGroup(`cvw-test-${process.pid}-probe`, { memoryBytes: 64 * MiB });
  g?.remove();
  return !!g;
})();

describe.runIf(cgroupsWritable)('in a memory control group (a container’s or job’s limit)', () => {
  it('cvw env reports the group’s limit, and a model too large for it is refused before it is built', async () => {
    const g = group(512 * MiB)!;
    const env = await run(...g.wrap(process.execPath, [cvw, 'env', '--backend', 'wasm', '--json']));
    expect(env.code, env.err).toBe(0);
    expect(JSON.parse(env.out).memory).toEqual({ bytes: 512 * MiB, source: 'control group' });
    // Before, the budget was a quarter of the machine's memory, and the run grew until the kernel killed it.
    const wide = await run(...g.wrap(process.execPath, [cvw, 'train', 'wide.yaml', '--work-dir', path.join(t.dir, 'wide')]));
    expect(wide.code, wide.err).toBe(1);
    expect(wide.err).toMatch(/model\.backbone: the model's parameters pass 33,554,432 values \(0\.134 GB\) while it is built, more than a quarter of its control group's 0\.537 GB \(a container's or job's limit; the machine has [\d.]+ GB\) of memory/);
  });

  it('cvw train ended by the out-of-memory killer: the launcher says so and what to lower, then dies of the same signal', async () => {
    const small = await run(...group(450 * MiB)!.wrap(process.execPath, [cvw, 'train', 'small.yaml', '--work-dir', path.join(t.dir, 'small')]));
    expect(small.code, small.err).toBe(0);
    const large = await run(...group(450 * MiB)!.wrap(process.execPath, [cvw, 'train', 'large_crops.yaml', '--work-dir', path.join(t.dir, 'large')]));
    expect(large.signal, large.err).toBe('SIGKILL');
    expect(large.err).toContain("cvw: cvw train was ended by the kernel's out-of-memory killer (with the other processes here it needed more than its control group's 0.472 GB");
    expect(large.err).toContain('make data.train.batch_size or the image size smaller');
    // The trainer told the launcher its run directory: the run says why it ended, for every view of it.
    expectEndedForMemory(path.join(t.dir, 'large'));
  });

  it.runIf(mpiAvailability().mpiInstalled)('cvw train --nproc 2: the rank the out-of-memory killer ended is named in run.json, with what to lower', async () => {
    buildBinding();
    const dir = path.join(t.dir, 'ranks');
    // Two ranks of about 830 MB each in 700 MiB: one is killed as they grow, and mpirun ends the job.
    const ranks = await run(...group(700 * MiB)!.wrap(process.execPath, [cvw, 'train', 'large_crops.yaml', '--nproc', '2', '--work-dir', dir]));
    expect(ranks.code, ranks.err).not.toBe(0);
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(info.status).toBe('failed');
    expect(info.error.message).toMatch(
      /^rank [01] \(\S+\) died \(signal 9, Killed\), ended by the kernel's out-of-memory killer \(with the other processes here it needed more than its control group's 0\.734 GB .*\): make data\.train\.batch_size or the image size smaller, or data\.workers and data\.prefetch fewer; the job ended at iteration \d+\. Continue with `cvw train --resume /,
    );
  });

  it('a run the editor started: the note ends its output and output.log', async () => {
    const node = group(450 * MiB)!.script(path.join(t.dir, 'node-in-group.sh'), process.execPath);
    const manager = new RunManager(() => ({ node: { command: node, env: {} }, cvw: { entry: cvw, source: 'bundled', packageRoot: root } }));
    try {
      const r = manager.train({ config: 'large_crops.yaml', cwd: t.dir, workDir: path.join(t.dir, 'editor') });
      expect((await r.exited).signal).toBe('SIGKILL');
      const output = fs.readFileSync(path.join(t.dir, 'editor', 'output.log'), 'utf8');
      // The editor names its own memory, which the runs it starts share; only this test's wrapper gives the run a group of its own.
      expect(output.trimEnd().split('\n').at(-1)).toBe(outOfMemoryNote('train').trimEnd());
      expect(r.tail(1)).toBe(outOfMemoryNote('train').trimEnd());
      expectEndedForMemory(path.join(t.dir, 'editor'));
      // A command run with its output piped (eval, benchmark, export) has the note at the end of it.
      const piped = manager.exec(['train', 'large_crops.yaml', '--work-dir', path.join(t.dir, 'piped')], { cwd: t.dir });
      expect((await piped.exited).signal).toBe('SIGKILL');
      expect(piped.tail(1)).toBe(outOfMemoryNote('train').trimEnd());
    } finally {
      manager.dispose();
    }
  });
});
