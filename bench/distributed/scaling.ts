/**
 * Data-parallel scaling on this machine (issue 18; BENCHMARKS.md "Data-parallel training"): the same
 * training on 1 rank x 1 thread and on 2 ranks x 1 thread (`cvw train --nproc 2`, the same batch per
 * rank), throughput from the runs' own metrics (the logger's samples/s of every step after a
 * warm-up: all ranks' samples over rank 0's step time, data waiting included); then one allreduce of
 * ResNet-18's 11.69 M float32 parameters between 2 ranks through the MPI binding.
 *
 *   node -r sucrase/register bench/distributed/scaling.ts [--iters 40] [--warmup 10] [--batch 32] [--width 64]
 *
 * Measure on a quiet machine (nothing else running); the script prints the load average before and
 * after. The model is the README's ResNet-18 (CIFAR stem) on the committed Fashion-MNIST sample.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mpirunRootEnv } from '../../src/distributed/binding';
import { World } from '../../src/distributed/world';
import { readMetrics } from '../../src/rundir';

const REPO = path.resolve(__dirname, '..', '..');
const RESNET18_PARAMS = 11_689_512;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Run as one rank of the allreduce probe (under mpirun). */
async function allreduceProbe(): Promise<void> {
  const world = World.join();
  const data = new Float32Array(RESNET18_PARAMS).fill(1);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = process.hrtime.bigint();
    await world.allreduceSum(data);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (world.rank === 0) console.log(JSON.stringify({ allreduceMs: times.slice(2) }));
  world.finalize();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function train(config: string, workDir: string, iters: number, nproc: number): number[] {
  const args = [path.join(REPO, 'bin', 'cvw.js'), 'train', config, '--work-dir', workDir, '--max-iters', String(iters), ...(nproc > 1 ? ['--nproc', String(nproc)] : [])];
  const r = spawnSync(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cvw train (${nproc} rank(s)) exited ${r.status}:\n${r.stderr.slice(-3000)}`);
  return readMetrics(workDir)
    .filter((m) => m.split === 'train')
    .map((m) => m.samples_per_s as number);
}

async function main(): Promise<void> {
  if (process.env.OMPI_COMM_WORLD_SIZE) return allreduceProbe();
  const iters = arg('iters', 40);
  const warmup = arg('warmup', 10);
  const batch = arg('batch', 32);
  const width = arg('width', 64);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-scaling-'));
  const config = path.join(dir, 'scaling.yaml');
  fs.writeFileSync(
    config,
    [
      `_base_: ${path.join(REPO, 'configs', 'classification', 'resnet18_fashion_mnist_sample.yaml')}`,
      'engine: { backend: wasm-ort, threads: 1 }',
      `model: { backbone: { base_width: ${width} } }`,
      `data: { workers: 0, train: { batch_size: ${batch} } }`,
      'runner: { log_interval: 1 }',
      'eval_pipelines: []',
      '',
    ].join('\n'),
  );
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`load average before: ${load()}; ${os.cpus().length} x ${os.cpus()[0].model}`);
  console.log(`ResNet-18 (CIFAR stem, width ${width}) on the Fashion-MNIST sample, batch ${batch} per rank, wasm-ort with 1 thread per rank, ${iters} steps (median samples/s of steps ${warmup + 1}-${iters})`);
  const one = median(train(config, path.join(dir, 'one'), iters, 1).slice(warmup));
  console.log(`1 rank  x 1 thread: ${one.toFixed(1)} samples/s`);
  const two = median(train(config, path.join(dir, 'two'), iters, 2).slice(warmup));
  console.log(`2 ranks x 1 thread: ${two.toFixed(1)} samples/s (global batch ${2 * batch})`);
  console.log(`scaling: ${(two / one).toFixed(2)}x (efficiency ${((two / one / 2) * 100).toFixed(0)} %)`);
  const mpirun = execFileSync('sh', ['-c', 'command -v mpirun'], { encoding: 'utf8' }).trim();
  const probe = spawnSync(mpirun, ['-np', '2', process.execPath, '-r', 'sucrase/register', __filename], { cwd: REPO, encoding: 'utf8', env: { ...process.env, ...mpirunRootEnv() } });
  const line = probe.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`allreduce probe failed:\n${probe.stderr.slice(-3000)}`);
  const ms = (JSON.parse(line) as { allreduceMs: number[] }).allreduceMs;
  console.log(`allreduce of ${RESNET18_PARAMS.toLocaleString('en')} float32 between 2 ranks: median ${median(ms).toFixed(1)} ms (${ms.map((m) => m.toFixed(1)).join(', ')})`);
  console.log(`load average after: ${load()}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
