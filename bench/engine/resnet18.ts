/**
 * Training throughput of a CIFAR-style ResNet-18 (32x32, 10 classes): samples/s of a full step
 * (forward + backward + SGD update) on each engine, against PyTorch CPU running the same
 * architecture (bench/engine/resnet18_torch.py) in the same run, with a per-kernel time profile.
 *
 *   nice -n 10 node -r sucrase/register bench/engine/resnet18.ts \
 *     [--engines wasm-ort,wasm,cpu] [--batch 64] [--steps 3] [--cpu-batch 1] [--threads 2] [--no-torch]
 *
 * Every measurement runs in a fresh child process, one at a time; PyTorch runs first and again
 * last, so a change in machine load between them shows. The cpu backend is far too slow for batch
 * 64 (one step would take hours): it runs one step at --cpu-batch, and its samples/s is quoted at
 * that batch (its kernels are per-sample loops, so the rate barely depends on the batch).
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import type { EngineConfig } from '../../src/engine/configSection';
import { resnet18Step } from './trainStep';
import { formatProfile, type KernelTime } from './profile';

interface EngineResult {
  engine: string;
  batch: number;
  stepMs: number[];
  samplesPerS: number;
  params: number;
  summary: string;
  profile?: { wallMs: number; kernels: KernelTime[] };
}

interface TorchResult {
  samples_per_s: number;
  step_ms: number[];
  torch: string;
  threads: number;
  params: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Child: measure one engine and print JSON. */
async function child(engine: EngineConfig['backend'], batch: number, steps: number, threads: number, warmup: number): Promise<void> {
  const report = await initEngine({ backend: engine, threads });
  const bench = resnet18Step(batch);
  for (let i = 0; i < warmup; i++) await bench.step();
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await bench.step();
    stepMs.push(performance.now() - t);
  }
  // One more step under tf.profile for the per-kernel times (the cpu backend: the measured step itself).
  let profile: EngineResult['profile'];
  const profiled = async () => {
    const t0 = performance.now();
    const info = await tf.profile(async () => {
      await bench.step();
    });
    const wallMs = performance.now() - t0;
    const byKernel = new Map<string, KernelTime>();
    for (const k of info.kernels) {
      const e = byKernel.get(k.name) ?? { kernel: k.name, calls: 0, ms: 0 };
      e.calls++;
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      byKernel.set(k.name, e);
    }
    return { wallMs, kernels: [...byKernel.values()].sort((a, b) => b.ms - a.ms) };
  };
  if (steps > 0) profile = await profiled();
  else {
    profile = await profiled();
    stepMs.push(profile.wallMs);
  }
  const result: EngineResult = { engine, batch, stepMs, samplesPerS: (batch * 1000) / median(stepMs), params: bench.model.parameterCount(), summary: report.summary, profile };
  bench.dispose();
  process.stdout.write(JSON.stringify(result) + '\n');
}

function runChild(args: string[]): string {
  const r = spawnSync(process.execPath, ['-r', 'sucrase/register', __filename, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, cwd: path.join(__dirname, '..', '..') });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout.trim().split('\n').pop()!;
}

function runTorch(batch: number, steps: number, threads: number): TorchResult {
  const script = path.join(__dirname, 'resnet18_torch.py');
  const r = spawnSync('/usr/bin/python3', [script, '--batch', String(batch), '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyTorch reference failed:\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult & { best_step_ms: number };
  // Same statistic as the engines: the median step.
  out.samples_per_s = (batch * 1000) / median(out.step_ms);
  return out;
}

async function orchestrate(): Promise<void> {
  const engines = arg('engines', 'wasm-ort,wasm,cpu').split(',');
  const batch = Number(arg('batch', '64'));
  const steps = Number(arg('steps', '3'));
  const cpuBatch = Number(arg('cpu-batch', '1'));
  const threads = Number(arg('threads', String(os.availableParallelism())));
  const withTorch = !process.argv.includes('--no-torch');
  const started = new Date().toISOString();
  const log = (s: string) => process.stderr.write(s + '\n');

  const torch: TorchResult[] = [];
  if (withTorch) {
    log('PyTorch ...');
    torch.push(runTorch(batch, steps, threads));
  }
  const results: EngineResult[] = [];
  for (const engine of engines) {
    const cpu = engine === 'cpu';
    log(`${engine} ...`);
    const out = runChild(['--child', engine, '--batch', String(cpu ? cpuBatch : batch), '--steps', String(cpu ? 0 : steps), '--warmup', cpu ? '0' : '1', '--threads', String(threads)]);
    results.push(JSON.parse(out) as EngineResult);
  }
  if (withTorch) {
    log('PyTorch again ...');
    torch.push(runTorch(batch, steps, threads));
  }

  const torchRate = torch.length ? median(torch.map((t) => t.samples_per_s)) : undefined;
  const cpuRate = results.find((r) => r.engine === 'cpu')?.samplesPerS;
  const lines: string[] = [];
  lines.push(`Run ${started}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, Node ${process.version}, threads ${threads}, load average at start ${os.loadavg()[0].toFixed(2)}`);
  lines.push('');
  lines.push('| engine | batch | step (median) | samples/s | vs cpu backend | vs PyTorch |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const ms = median(r.stepMs);
    lines.push(`| ${r.engine} | ${r.batch} | ${(ms / 1000).toFixed(2)} s | ${r.samplesPerS.toFixed(r.samplesPerS < 1 ? 3 : 1)} | ${cpuRate ? (r.samplesPerS / cpuRate).toFixed(1) + 'x' : ''} | ${torchRate ? (r.samplesPerS / torchRate).toFixed(2) + 'x' : ''} |`);
  }
  for (const [i, t] of torch.entries()) {
    lines.push(`| PyTorch ${t.torch} CPU (${i === 0 ? 'first' : 'last'}) | ${batch} | ${(median(t.step_ms) / 1000).toFixed(2)} s | ${t.samples_per_s.toFixed(1)} | ${cpuRate ? (t.samples_per_s / cpuRate).toFixed(1) + 'x' : ''} | |`);
  }
  lines.push('');
  lines.push(`Parameters: toolkit ${results[0]?.params.toLocaleString('en-US')}${torch[0] ? `, PyTorch ${torch[0].params.toLocaleString('en-US')}` : ''}. Step times (ms): ${results.map((r) => `${r.engine} [${r.stepMs.map((x) => x.toFixed(0)).join(', ')}]`).join('; ')}${torch.length ? `; PyTorch [${torch.map((t) => t.step_ms.map((x) => x.toFixed(0)).join(', ')).join(' | ')}]` : ''}.`);
  for (const r of results) {
    if (!r.profile) continue;
    lines.push('', `Per-kernel profile, ${r.engine}, batch ${r.batch} (one step under tf.profile):`, '', formatProfile(r.profile, 15));
  }
  process.stdout.write(lines.join('\n') + '\n');
}

if (require.main === module) {
  if (process.argv.includes('--child')) {
    child(arg('child', 'wasm-ort') as EngineConfig['backend'], Number(arg('batch', '64')), Number(arg('steps', '3')), Number(arg('threads', '0')), Number(arg('warmup', '1'))).catch((err) => {
      process.stderr.write(String(err?.stack ?? err) + '\n');
      process.exit(1);
    });
  } else {
    orchestrate().catch((err) => {
      process.stderr.write(String(err?.stack ?? err) + '\n');
      process.exit(1);
    });
  }
}
