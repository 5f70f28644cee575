/**
 * Per-kernel time profile of one ResNet-18 training step (bench/engine/trainStep.ts) on one engine.
 *
 *   nice -n 10 node -r sucrase/register bench/engine/profile.ts [engine] [batch] [--json] [--by-shape [--steps N]]
 *
 * engine: wasm-ort (default), wasm or cpu. Kernel times are tf.profile's per-kernel wall times;
 * "other" is the step's wall time they do not cover (JavaScript between kernels, tape bookkeeping).
 * --by-shape: the convolutions' times per layer signature (kernel and input shapes), the mean of
 * N profiled steps (default 3) after two warm-up steps.
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

/** Mean milliseconds per step of each convolution kernel, by its input shapes, over `steps` profiled steps. */
export async function convolutionsByShape(engine: EngineConfig['backend'], batch: number, steps: number): Promise<{ walls: number[]; rows: Array<{ kernel: string; shapes: string; calls: number; ms: number }> }> {
  await initEngine({ backend: engine });
  const bench = resnet18Step(batch);
  await bench.step();
  await bench.step();
  const rows = new Map<string, { kernel: string; shapes: string; calls: number; ms: number }>();
  const walls: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    const info = await tf.profile(async () => {
      await bench.step();
    });
    walls.push(performance.now() - t0);
    for (const k of info.kernels) {
      if (!k.name.startsWith('Conv2D')) continue;
      const shapes = JSON.stringify(k.inputShapes);
      const row = rows.get(k.name + shapes) ?? { kernel: k.name, shapes, calls: 0, ms: 0 };
      row.calls += 1 / steps;
      row.ms += (k.kernelTimeMs as number) / steps;
      rows.set(k.name + shapes, row);
    }
  }
  bench.dispose();
  return { walls, rows: [...rows.values()].sort((a, b) => a.kernel.localeCompare(b.kernel) || a.shapes.localeCompare(b.shapes)) };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const stepsAt = args.indexOf('--steps');
  const steps = stepsAt >= 0 ? Number(args[stepsAt + 1]) : 3;
  const [engine = 'wasm-ort', batch = '64'] = args.filter((a, i) => !a.startsWith('--') && i !== stepsAt + 1);
  if (process.argv.includes('--by-shape')) {
    convolutionsByShape(engine as EngineConfig['backend'], Number(batch), steps).then(({ walls, rows }) => {
      const lines = [`ResNet-18 (CIFAR stem) convolutions by layer, batch ${batch}, engine ${engine}: mean of ${steps} steps (walls ${walls.map((w) => w.toFixed(0)).join(', ')} ms)`, '', '| kernel | input shapes | calls | ms a step | ms a call |', '|---|---|---:|---:|---:|'];
      for (const r of rows) lines.push(`| ${r.kernel} | ${r.shapes} | ${Math.round(r.calls)} | ${r.ms.toFixed(1)} | ${(r.ms / r.calls).toFixed(1)} |`);
      process.stdout.write(lines.join('\n') + '\n');
    });
  } else {
    profileStep(engine as EngineConfig['backend'], Number(batch)).then((p) => {
      if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(p, null, 2) + '\n');
      else process.stdout.write(`ResNet-18 (CIFAR stem) training step, batch ${batch}, engine ${engine}\n\n${formatProfile(p)}\n`);
    });
  }
}
