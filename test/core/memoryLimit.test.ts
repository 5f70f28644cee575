import { describe, expect, it } from 'vitest';
import * as os from 'node:os';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describeMemoryLimit, memoryLimit, outOfMemoryNote, watchOutOfMemoryKills } from '../../src/core/memoryLimit';
import { gigabytes } from '../../src/core/format';

// The memory a process may use, and the note for one the kernel's out-of-memory killer ended. (In
// real control groups, the budgets and the killer: outOfMemory.alone.test.ts.)
const MiB = 2 ** 20;

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

  it('an exit by SIGKILL is put down to the out-of-memory killer only when its count rose meanwhile', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    const killedForMemory = watchOutOfMemoryKills(child);
    child.kill('SIGKILL');
    await once(child, 'exit');
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
