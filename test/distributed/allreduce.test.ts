import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempFiles } from '../helpers/tmp';
import { buildBinding, mpiAvailability, mpirunRootEnv } from '../../src/distributed/binding';

// Gradient averaging on real Open MPI ranks: a parameter that only some ranks used (a gradient
// missing on the others) must be updated on every rank, or the replicas drift apart.
const root = path.resolve(__dirname, '../..');
const distLib = path.join(root, 'dist', 'lib');

const rankScript = `
const fs = require('node:fs');
const fromRepo = require('node:module').createRequire(${JSON.stringify(path.join(root, 'package.json'))});
const tf = fromRepo('@tensorflow/tfjs-core');
fromRepo('@tensorflow/tfjs-backend-cpu');
const { World } = require(${JSON.stringify(path.join(distLib, 'distributed', 'world.js'))});
const { averageGradients } = require(${JSON.stringify(path.join(distLib, 'distributed', 'allreduce.js'))});
(async () => {
  await tf.setBackend('cpu');
  const world = World.join();
  const vars = ['a', 'b', 'c'].map((n) => tf.variable(tf.zeros([2]), true, n));
  const grads = { a: tf.tensor1d([world.rank + 1, 2]) };
  if (world.rank === 1) grads.b = tf.tensor1d([4, 6]); // only rank 1 used b; nobody used c
  const out = await averageGradients(world, grads, vars);
  const result = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.dataSync())]));
  fs.writeFileSync(process.env.RESULT_DIR + '/rank' + world.rank + '.json', JSON.stringify(result));
  world.finalize();
})();
`;
const t = tempFiles({ 'rank.js': rankScript });
afterAll(() => t.cleanup());

const mpi = mpiAvailability();
const skip = !mpi.mpiInstalled;

beforeAll(() => {
  if (!fs.existsSync(path.join(distLib, 'distributed', 'allreduce.js'))) throw new Error('run `npm run build` first');
  if (!skip) buildBinding();
}, 120_000);

describe.skipIf(skip)('averageGradients under mpirun', () => {
  it('averages each gradient over the ranks; one some ranks lack is in every rank\'s result, one no rank has in none', async () => {
    const results = t.file('out');
    fs.mkdirSync(results);
    const child = spawn(mpi.mpirun!, ['-np', '2', '--oversubscribe', process.execPath, t.file('rank.js')], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...mpirunRootEnv(), RESULT_DIR: results },
      timeout: 60_000,
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code, err).toBe(0);
    for (const rank of [0, 1]) {
      const r = JSON.parse(fs.readFileSync(path.join(results, `rank${rank}.json`), 'utf8'));
      expect(r).toEqual({ a: [1.5, 2], b: [2, 3] });
    }
  }, 70_000);
});
