import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { tinyVitFashionMnistYaml } from '../helpers/tinyConfig';
import { findRank } from '../helpers/mpiRanks';
import { buildBinding, mpiAvailability, mpirunRootEnv } from '../../src/distributed/binding';
import { waitFor } from '../helpers/wait';

// A rank that hangs (sleeps, or is stopped) must not leave the others waiting forever in a
// collective: after runner.collective_timeout the ranks that are there name the ones that are not
// (rank and host) and the job ends non-zero. Real mpirun processes, timeouts of 2-3 s.
const root = path.resolve(__dirname, '../..');
const cvwBin = path.join(root, 'bin', 'cvw.js');
const distLib = path.join(root, 'dist', 'lib');

// Three ranks: rank 2 sleeps before the second allreduce; ranks 0 and 1 must both name rank 2 alone
// (each hears the other's notice), through the promise (gradients) or the blocking call (SyncBatchNorm).
const rankScript = `
const fs = require('node:fs');
const { World } = require(${JSON.stringify(path.join(distLib, 'distributed', 'world.js'))});
const world = World.join();
world.setTimeout(2);
const sync = process.env.HANG_MODE === 'sync';
(async () => {
  await world.allreduceSum(new Float32Array(8).fill(1));
  if (world.rank === 2) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
  const t0 = Date.now();
  let result;
  try {
    const data = new Float32Array(8).fill(1);
    if (sync) world.allreduceSumSync(data); else await world.allreduceSum(data);
    result = { completed: true };
  } catch (e) {
    result = { name: e.name, message: e.message, missing: e.missing, seconds: (Date.now() - t0) / 1000 };
  }
  fs.writeFileSync(process.env.RESULT_DIR + '/rank' + world.rank + '.json', JSON.stringify(result));
  setInterval(() => undefined, 1000); // until the test ends the job
})();
`;
const t = tempFiles({ 'rank.js': rankScript, 'long.yaml': tinyVitFashionMnistYaml({ seed: 3, batch: 64, runner: 'max_epochs: 20, log_interval: 1, collective_timeout: 3', optimizer: 'lr: 0.05' }) });
afterAll(() => t.cleanup());

const mpi = mpiAvailability();
const skip = !mpi.mpiInstalled;
if (skip) console.log(`skipping the hung-rank tests: ${mpi.note}`);

beforeAll(() => {
  if (!fs.existsSync(path.join(distLib, 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  if (!skip) buildBinding();
}, 120_000);

describe.skipIf(skip)('a hung rank under mpirun', () => {
  it.each(['async', 'sync'])('%s allreduce: the ranks there name the missing one after the timeout', async (mode) => {
    const results = path.join(t.dir, mode);
    fs.mkdirSync(results);
    const child = spawn(mpi.mpirun!, ['-np', '3', '--oversubscribe', process.execPath, t.file('rank.js')], {
      stdio: 'ignore',
      env: { ...process.env, ...mpirunRootEnv(), HANG_MODE: mode, RESULT_DIR: results },
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    try {
      await waitFor(() => ['rank0.json', 'rank1.json'].every((f) => fs.existsSync(path.join(results, f))), 'ranks 0 and 1 to give up', 25_000, 100);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    for (const rank of [0, 1]) {
      const r = JSON.parse(fs.readFileSync(path.join(results, `rank${rank}.json`), 'utf8'));
      expect(r.name, JSON.stringify(r)).toBe('CollectiveTimeoutError');
      expect(r.missing).toEqual([2]);
      expect(r.message).toMatch(new RegExp(`^rank 2 \\(.+\\) did not join allreduce #\\d+ within 2 s \\(rank ${rank} \\(.+\\) waited \\d+ s\\): it hangs or waits elsewhere; the job ends`));
      // The timeout and a grace of about 1 s for the other ranks' answers.
      expect(r.seconds).toBeGreaterThanOrEqual(2);
      expect(r.seconds).toBeLessThan(12);
    }
    expect(fs.existsSync(path.join(results, 'rank2.json'))).toBe(false);
  }, 40_000);

  it('cvw train --nproc 2 with rank 0 stopped: rank 1 ends the job naming it, and the run records it (failed, with how to resume)', async () => {
    const dir = path.join(t.dir, 'stopped-rank');
    const child = spawn(process.execPath, [cvwBin, 'train', 'long.yaml', '--work-dir', dir, '--nproc', '2', '-q'], { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    const iter = () => (fs.existsSync(path.join(dir, 'run.json')) ? JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).iter : 0);
    await waitFor(() => iter() >= 2, 'the first steps', 60_000, 100);
    const rank0 = findRank(0, dir);
    expect(rank0, 'rank 0 process').toBeDefined();
    process.kill(rank0!, 'SIGSTOP');
    const stoppedAt = Date.now();
    const code = await exited;
    // 3 s of timeout, ~1 s of grace, then MPI_Abort.
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    expect(code).not.toBe(0);
    expect(err).toMatch(/cvw: rank 1 \(.+\) failed: rank 0 \(.+\) did not join allreduce #\d+ within 3 s/);
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(info.status).toBe('failed');
    expect(info.error.message).toMatch(/^rank 0 \(.+\) did not join allreduce #\d+ within 3 s \(rank 1 \(.+\) waited \d+ s\): it hangs or waits elsewhere; the job ended at iteration \d+\. Continue with `cvw train --resume /);
  }, 90_000);
});
