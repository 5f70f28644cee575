import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeMemoryLimit, memoryLimit, oomKillCount, outOfMemoryNote, watchOutOfMemoryKills } from '../../src/core/memoryLimit';
import { gigabytes } from '../../src/core/format';
import { ControlGroups, runToEnd } from '../helpers/controlGroup';
import { tempFiles } from '../helpers/tmp';
import { tinyClassificationYaml } from '../helpers/tinyConfig';

// The memory a run may use is its control group's where that is lower than the machine's (a
// container, a Slurm job's --mem), and the budgets are taken from it. (What happens when the
// kernel's out-of-memory killer ends a process: outOfMemory.alone.test.ts.)
const root = path.resolve(__dirname, '../..');
const cvw = path.join(root, 'bin', 'cvw.js');
const MiB = 2 ** 20;
const t = tempFiles({
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
