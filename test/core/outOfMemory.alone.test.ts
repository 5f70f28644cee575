import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { outOfMemoryNote } from '../../src/core/memoryLimit';
import { readRunRecord } from '../../src/rundir';
import { RunManager } from '../../src/runs';
import { buildBinding, mpiAvailability } from '../../src/distributed/binding';
import { ControlGroups, runToEnd } from '../helpers/controlGroup';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';

// In a control group's memory limit (a container, a Slurm job's --mem) the budgets are the group's,
// and a `cvw` process the kernel's out-of-memory killer ends is reported as such by whoever started it,
// with what to lower, and recorded in its run.json; before, it just died ("Killed", or a run shown
// as crashed). The kills are real: each test trains in a control group too small for it.
//
// Alone: the killer's count is its group's, but where a process has no group of its own, the
// machine's (/proc/vmstat); and these tests fill memory on purpose. `npm run test:unit` runs this
// file after the others (test/alone.config.mts).
const root = path.resolve(__dirname, '../..');
const cvw = path.join(root, 'bin', 'cvw.js');
const MiB = 2 ** 20;
// Crops of 384 pixels a side need about 830 MB to train (/usr/bin/time: 186 MB at 16 pixels).
const tiny = (size: number) => tinyClassificationYaml({ seed: 1, runner: 'max_epochs: 1, log_interval: 1' }).replace('RandomResizedCrop, size: 16', `RandomResizedCrop, size: ${size}`);
const t = tempFiles({
  'small.yaml': tiny(16),
  'large_crops.yaml': tiny(384),
  // ResNet-18 at base width 128: 44.7 million parameter values, more than a quarter of 512 MiB allows (33.6 million).
  'wide.yaml': tinyClassificationYaml({ seed: 1, runner: 'max_epochs: 1' }).replace('base_width: 4', 'base_width: 128'),
});
const groups = new ControlGroups();
afterAll(() => {
  groups.removeAll();
  t.cleanup();
});
beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'cli', 'relaunch.js'))) throw new Error('run `npm run build` first');
});

const group = (memoryBytes: number) => groups.make({ memoryBytes });

/** `cvw` as a user runs it: relaunched under glibc's malloc tunables (src/cli/relaunch.ts), the launcher watching. */
function run(command: string, args: string[]) {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  delete env.CVW_NO_RELAUNCH;
  return runToEnd(command, args, { cwd: t.dir, env });
}

/** run.json of a run whose trainer the out-of-memory killer ended in its first step, as its starter recorded it. */
function expectEndedForMemory(dir: string): void {
  const record = readRunRecord(dir)!;
  expect(record.state).toBe('failed');
  expect(record.info.error?.message).toMatch(/^the training process was ended by the kernel's out-of-memory killer \(.*\): make data\.train\.batch_size .*; it ended at iteration 0\. Continue with `cvw train --resume /);
  expect(fs.readFileSync(path.join(dir, 'log.txt'), 'utf8')).toContain(`failed: ${record.info.error?.message}`);
}

describe.runIf(groups.available)('ended by the out-of-memory killer in a memory control group (a container’s or job’s limit)', () => {
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

  it('a process killed with SIGKILL while the killer ends another group’s process is not said to have run out of memory', async () => {
    // Before, the machine's count (/proc/vmstat) decided: on a node shared with other jobs or
    // containers, any of theirs the killer ended made a `kill -9`, or Slurm's SIGKILL after its
    // grace, read as this run's out-of-memory end. Now the count of the trainer's own group decides.
    const dir = path.join(t.dir, 'killed');
    const launcher = run(...group(4096 * MiB)!.wrap(process.execPath, [cvw, 'train', 'small.yaml', '--runner.max_epochs', '1000', '--work-dir', dir]));
    let pid = 0;
    for (let i = 0; i < 600 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 100));
      pid = readRunRecord(dir)?.info.pid ?? 0;
    }
    expect(pid).toBeGreaterThan(0);
    // Another group's process needs more than its limit: the killer ends it, and the machine's count rises.
    const victim = await runToEnd(...group(96 * MiB)!.wrap(process.execPath, ['-e', 'const kept = []; for (;;) kept.push(Buffer.alloc(16 << 20, 1));']));
    expect(victim.signal).toBe('SIGKILL');
    process.kill(pid, 'SIGKILL');
    const killed = await launcher;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.err).not.toContain('out-of-memory');
    expect(readRunRecord(dir)!.info.error).toBeUndefined();
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

describe.runIf(groups.available)('in a memory control group (a container’s or job’s limit)', () => {
  it('cvw env reports the group’s limit, and a model too large for it is refused before it is built', async () => {
    const g = group(512 * MiB)!;
    const env = await runToEnd(...g.wrap(process.execPath, [cvw, 'env', '--backend', 'wasm', '--json']));
    expect(env.code, env.err).toBe(0);
    expect(JSON.parse(env.out).memory).toEqual({ bytes: 512 * MiB, source: 'control group' });
    // Before, the budget was a quarter of the machine's memory, and the run grew until the kernel killed it.
    const wide = await runToEnd(...g.wrap(process.execPath, [cvw, 'train', 'wide.yaml', '--work-dir', path.join(t.dir, 'wide')]), { cwd: t.dir });
    expect(wide.code, wide.err).toBe(1);
    expect(wide.err).toMatch(/model\.backbone: the model's parameters pass 33,554,432 values \(0\.134 GB\) while it is built, more than a quarter of its control group's 0\.537 GB \(a container's or job's limit; the machine has [\d.]+ GB\) of memory/);
  });
});
