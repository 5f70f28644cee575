/**
 * Inference with onnxruntime-node on an ONNX model: its WebGPU execution provider against its CPU
 * provider, the same random batch through both, outputs compared. One JSON line per provider.
 *
 *   node -r sucrase/register bench/gpu/ortInference.ts --model model.onnx --batch 32 --size 224 [--iters 10]
 *
 * A provider that cannot start (no adapter: onnxruntime's WebGPU found none on Mesa here) is a
 * line with `error`, not a crash: the CPU figure still comes out.
 */
import * as ort from 'onnxruntime-node';
import { Random } from '../../src/core/random';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function run(provider: 'cpu' | 'webgpu', model: string, input: ort.Tensor, iters: number): Promise<{ line: Record<string, unknown>; output?: Float32Array }> {
  const t0 = performance.now();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
  } catch (err) {
    return { line: { provider, error: (err as Error).message.split('\n')[0] } };
  }
  const createMs = performance.now() - t0;
  const feeds = { [session.inputNames[0]]: input };
  let output: Float32Array | undefined;
  // Warm-up (kernel compilation), then timed runs.
  output = (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
  const ms: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t = performance.now();
    output = (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
    ms.push(performance.now() - t);
  }
  await session.release();
  const median = [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)];
  const batch = input.dims[0];
  return { line: { provider, batch, createMs: Math.round(createMs), runMs: ms.map((m) => Math.round(m)), medianMs: Number(median.toFixed(2)), imagesPerS: Number(((batch * 1000) / median).toFixed(1)) }, output };
}

async function main(): Promise<void> {
  const model = arg('model', 'model.onnx');
  const batch = Number(arg('batch', '32'));
  const size = Number(arg('size', '224'));
  const iters = Number(arg('iters', '10'));
  const nhwc = process.argv.includes('--nhwc');
  const rng = new Random(1);
  const values = Float32Array.from({ length: batch * 3 * size * size }, () => rng.normal());
  const input = new ort.Tensor('float32', values, nhwc ? [batch, size, size, 3] : [batch, 3, size, size]);
  const cpu = await run('cpu', model, input, iters);
  const gpu = await run('webgpu', model, input, iters);
  if (cpu.output && gpu.output) {
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < cpu.output.length; i++) {
      diff = Math.max(diff, Math.abs(cpu.output[i] - gpu.output[i]));
      scale = Math.max(scale, Math.abs(cpu.output[i]));
    }
    gpu.line.maxAbsDiffVsCpu = Number(diff.toPrecision(3));
    gpu.line.cpuMaxAbs = Number(scale.toPrecision(3));
  }
  for (const r of [cpu, gpu]) process.stdout.write(JSON.stringify({ ort: ort.env.versions?.common, size, ...r.line }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
