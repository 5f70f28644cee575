/**
 * Inference speed of the exported ResNet-18 classifier (ImageNet shape: 224x224x3, 1000 classes)
 * on onnxruntime-node against TF.js on the wasm backend, in the same run: latency at batch 1 and
 * images/s at batch 32, through the predictors' own backends (what `Classifier.predict` runs,
 * after image decoding). onnxruntime runs first and again last, so a change of machine load
 * between the two shows.
 *
 *   nice -n 10 node -r sucrase/register bench/export/predictors.ts [--runs1 20] [--runs32 4] [--threads 2]
 *
 * Weights are random (speed does not depend on them); the export is the real one. Besides wall
 * time, the CPU time of the process (user + system) per batch is reported: on a machine shared
 * with other jobs the wall time includes waiting for a core, the CPU time is the work itself.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/builtins';
import { registries } from '../../src/core/registry';
import { exportLoaded } from '../../src/export/exportModel';
import { openBackend, type InferenceBackend } from '../../src/export/predict';
import { ensureBackend, type LoadedModel } from '../../src/export/source';
import { seedInit } from '../../src/models/nn';
import type { Algorithm } from '../../src/models/algorithms/types';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Measure {
  engine: string;
  batch: number;
  runs: number;
  medianMs: number;
  minMs: number;
  imagesPerS: number;
  /** Median CPU time (user + system, all threads) per batch. */
  cpuMs: number;
}

async function measure(engine: string, backend: InferenceBackend, batch: number, runs: number, warmup: number): Promise<Measure> {
  const shape: [number, number, number, number] = [batch, 224, 224, 3];
  const input = tf.tidy(() => tf.randomUniform(shape, -2, 2, 'float32', 1).dataSync() as Float32Array);
  for (let i = 0; i < warmup; i++) await backend.run(input, shape);
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await backend.run(input, shape);
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    if (out.logits.shape[1] !== 1000) throw new Error('unexpected output');
  }
  const m = median(times);
  const result = { engine, batch, runs, medianMs: m, minMs: Math.min(...times), imagesPerS: (batch * 1000) / m, cpuMs: median(cpu) };
  process.stderr.write(`${engine} batch ${batch}: median ${m.toFixed(1)} ms (min ${result.minMs.toFixed(1)}), ${result.imagesPerS.toFixed(1)} images/s, CPU ${result.cpuMs.toFixed(0)} ms\n`);
  return result;
}

async function main(): Promise<void> {
  const runs1 = arg('runs1', 20);
  const runs32 = arg('runs32', 4);
  const threads = arg('threads', os.availableParallelism());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-bench-export-'));
  try {
    await ensureBackend('wasm');
    seedInit(0);
    const config = { model: { type: 'Classification', backbone: { type: 'ResNet', depth: 18 }, head: { type: 'ClsHead', num_classes: 1000 } } };
    const model = registries.model.build(config.model, {}, 'model') as Algorithm;
    model.eval();
    const loaded: LoadedModel = { model, weights: 'model', source: { checkpoint: 'random weights', config, configDir: dir } };
    const onnxFile = path.join(dir, 'resnet18.onnx');
    const tfjsDir = path.join(dir, 'tfjs');
    const t0 = performance.now();
    await exportLoaded(loaded, { format: 'onnx', out: onnxFile, inputSize: [224, 224], verify: false });
    const t1 = performance.now();
    await exportLoaded(loaded, { format: 'tfjs', out: tfjsDir, inputSize: [224, 224], verify: false });
    const t2 = performance.now();
    model.dispose();
    process.stderr.write(`exported in ${((t1 - t0) / 1000).toFixed(1)} s (ONNX) and ${((t2 - t1) / 1000).toFixed(1)} s (TF.js)\n`);

    const ort = await openBackend(onnxFile, { threads });
    const wasm = await openBackend(tfjsDir);
    const results: Measure[] = [];
    results.push(await measure(`onnxruntime-node (${threads} threads)`, ort, 1, runs1, 3));
    results.push(await measure(`onnxruntime-node (${threads} threads)`, ort, 32, runs32, 1));
    results.push(await measure('TF.js wasm (1 thread)', wasm, 1, Math.max(3, Math.round(runs1 / 2)), 2));
    results.push(await measure('TF.js wasm (1 thread)', wasm, 32, Math.max(2, Math.round(runs32 / 2)), 1));
    results.push(await measure(`onnxruntime-node (${threads} threads), again`, ort, 32, runs32, 1));
    await ort.dispose();
    await wasm.dispose();

    const ortB32 = Math.min(results[1].medianMs, results[4].medianMs);
    const lines = [
      `ResNet-18 classifier, 224x224x3, 1000 classes; ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, load average ${os.loadavg()[0].toFixed(1)} at the end`,
      '',
      '| engine | batch | runs | median latency (ms) | images/s | CPU ms per batch |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...results.map((r) => `| ${r.engine} | ${r.batch} | ${r.runs} | ${r.medianMs.toFixed(1)} | ${r.imagesPerS.toFixed(1)} | ${r.cpuMs.toFixed(0)} |`),
      '',
      `onnxruntime-node / TF.js wasm, wall time: ${(results[2].medianMs / results[0].medianMs).toFixed(2)}x at batch 1, ${(results[3].medianMs / ortB32).toFixed(2)}x at batch 32 (target: at least 3x at batch 32)`,
      `onnxruntime-node / TF.js wasm, CPU time: ${(results[2].cpuMs / results[0].cpuMs).toFixed(2)}x at batch 1, ${(results[3].cpuMs / Math.min(results[1].cpuMs, results[4].cpuMs)).toFixed(2)}x at batch 32 (less work per image; on an idle machine onnxruntime also spreads it over ${threads} cores)`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
