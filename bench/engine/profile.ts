/**
 * Per-kernel time profile of one ResNet-18 training step (bench/engine/trainStep.ts) on one engine.
 *
 *   nice -n 10 node -r sucrase/register bench/engine/profile.ts [engine] [batch] [--json]
 *
 * engine: wasm-ort (default), wasm or cpu. Kernel times are tf.profile's per-kernel wall times;
 * "other" is the step's wall time they do not cover (JavaScript between kernels, tape bookkeeping).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import type { EngineConfig } from '../../src/engine/configSection';
import { resnet18Step } from './trainStep';

export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
}

export interface StepProfile {
  wallMs: number;
  kernels: KernelTime[];
}

export async function profileStep(engine: EngineConfig['backend'], batch: number): Promise<StepProfile> {
  await initEngine({ backend: engine });
  const bench = resnet18Step(batch);
  await bench.step(); // warm-up: sessions, XNNPACK operators, allocations
  const p = await profileOneStep(() => bench.step());
  bench.dispose();
  return p;
}

/** One call of `step` under tf.profile: its wall time and the kernels' times, summed per kernel, largest first. */
export async function profileOneStep(step: () => Promise<unknown>): Promise<StepProfile> {
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await step();
  });
  const wallMs = performance.now() - t0;
  const byKernel = new Map<string, KernelTime>();
  for (const k of info.kernels) {
    const entry = byKernel.get(k.name) ?? { kernel: k.name, calls: 0, ms: 0 };
    entry.calls++;
    entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byKernel.set(k.name, entry);
  }
  return { wallMs, kernels: [...byKernel.values()].sort((a, b) => b.ms - a.ms) };
}

export function formatProfile(p: StepProfile, top = 25): string {
  const covered = p.kernels.reduce((s, k) => s + k.ms, 0);
  const lines = ['| kernel | calls | ms | share |', '|---|---:|---:|---:|'];
  for (const k of p.kernels.slice(0, top)) lines.push(`| ${k.kernel} | ${k.calls} | ${k.ms.toFixed(1)} | ${((100 * k.ms) / p.wallMs).toFixed(1)}% |`);
  const rest = p.kernels.slice(top).reduce((s, k) => s + k.ms, 0);
  if (rest > 0) lines.push(`| (${p.kernels.length - top} more kernels) | | ${rest.toFixed(1)} | ${((100 * rest) / p.wallMs).toFixed(1)}% |`);
  lines.push(`| other (between kernels) | | ${(p.wallMs - covered).toFixed(1)} | ${((100 * (p.wallMs - covered)) / p.wallMs).toFixed(1)}% |`);
  lines.push(`| **step (wall, under tf.profile)** | | **${p.wallMs.toFixed(1)}** | |`);
  return lines.join('\n');
}

if (require.main === module) {
  const [engine = 'wasm-ort', batch = '64'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  profileStep(engine as EngineConfig['backend'], Number(batch)).then((p) => {
    if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(p, null, 2) + '\n');
    else process.stdout.write(`ResNet-18 (CIFAR stem) training step, batch ${batch}, engine ${engine}\n\n${formatProfile(p)}\n`);
  });
}
