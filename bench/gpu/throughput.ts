/**
 * Training throughput of the CIFAR-style ResNet-18 on one engine, in this process: samples/s of a
 * full step (forward, backward, SGD update; the loss read back once a step, as the runner does).
 * One JSON line on stdout. bench/gpu/run.sh runs it once per engine and batch, each in a fresh
 * process.
 *
 *   node -r sucrase/register bench/gpu/throughput.ts --engine webgpu --batch 64 [--steps 5] [--warmup 2] [--size 32] [--base-width 64]
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import type { EngineConfig } from '../../src/engine/configSection';
import { resnet18Step } from '../engine/trainStep';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const engine = arg('engine', 'webgpu') as EngineConfig['backend'];
  const batch = Number(arg('batch', '64'));
  const steps = Number(arg('steps', '5'));
  const warmup = Number(arg('warmup', '2'));
  const size = Number(arg('size', '32'));
  const baseWidth = Number(arg('base-width', '64'));
  const report = await initEngine({ backend: engine });
  const bench = resnet18Step(batch, 0, size, baseWidth);
  const losses: number[] = [];
  // Warm-up: shader compilation (webgpu), sessions and operators (wasm-ort), allocations.
  for (let i = 0; i < warmup; i++) losses.push(await bench.step());
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    losses.push(await bench.step());
    stepMs.push(performance.now() - t);
  }
  const sorted = [...stepMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  bench.dispose();
  process.stdout.write(
    JSON.stringify({
      engine: report.engine,
      device: report.device,
      adapter: report.adapter ? `${report.adapter.vendor} ${report.adapter.device}`.trim() : undefined,
      threads: report.threads,
      // wasm-ort's convolutions: oneDNN where its addon loads (about 2x faster), else onnxruntime's.
      convolutions: report.engine === 'wasm-ort' ? (report.versions.oneDNN ? `oneDNN ${report.versions.oneDNN}` : 'onnxruntime MLAS') : undefined,
      batch,
      size,
      baseWidth,
      steps,
      stepMs: stepMs.map((m) => Math.round(m)),
      medianStepMs: Math.round(median),
      samplesPerS: Number(((batch * 1000) / median).toFixed(1)),
      finiteLoss: losses.every(Number.isFinite),
      tensorsLeft: tf.memory().numTensors,
      gpuBytes: mem.numBytesInGPU,
    }) + '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
