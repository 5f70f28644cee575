/**
 * Kernel-level timings behind the engine's choices: one convolution's forward pass, input gradient
 * and filter gradient on the tfjs cpu backend, the wasm backend (its own kernels and the composed
 * ones) and onnxruntime (the plain and the NCHWc convolutions, the three filter-gradient paths), and a batch norm +
 * ReLU training step (tfjs' composed gradient vs the closed form).
 *
 *   nice -n 10 node -r sucrase/register bench/engine/convKernels.ts [--reps 5] [--cpu] [--shapes issue|resnet]
 *
 * Variants of one measurement run round-robin (rep 1 of every variant, then rep 2, ...), so a change
 * in machine load hits all of them alike; the table shows medians in milliseconds.
 * --cpu adds the plain cpu backend (slow: its filter gradient of the issue's convolution takes
 * about a minute).
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initEngine } from '../../src/engine';
import { originalKernel, kernelBelow } from '../../src/engine/kernels';
import { conv2DBackpropFilterOrtConfig, conv2DBackpropInputOrtConfig } from '../../src/engine/ort/kernels/conv2d';
import { conv2dFilterGradGraph, conv2dFilterGradTapsGraph, conv2dGraph, conv2dInputGradAsConvGraph, conv2dInputGradGraph, inputGradAsConvPads } from '../../src/engine/ort/convGraphs';
import { nchwcBlockFor, nchwcConvGraph, nchwcInputGradGraph } from '../../src/engine/ort/nchwc';
import { setGridLimits } from '../../src/engine/ort/gridFilterGrad';
import { f32, ortOp } from '../../src/engine/ort/session';
import { batchNormTrain } from '../../src/engine/ops/batchNorm';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** Median ms of each variant, measured round-robin after one warm-up call each. */
function race(variants: Record<string, () => void>, reps: number): Record<string, number> {
  const times: Record<string, number[]> = {};
  for (const [name, f] of Object.entries(variants)) {
    f();
    times[name] = [];
  }
  for (let r = 0; r < reps; r++) {
    for (const [name, f] of Object.entries(variants)) {
      const t = performance.now();
      f();
      times[name].push(performance.now() - t);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

type Shape = { name: string; x: [number, number, number, number]; outChannels: number; k: number; stride: number };

const SHAPES: Record<string, Shape[]> = {
  issue: [{ name: 'issue: 16x32x32x32, 32 filters 3x3', x: [16, 32, 32, 32], outChannels: 32, k: 3, stride: 1 }],
  resnet: [
    { name: 'ResNet-18 layer1: 64x32x32x64 -> 64, 3x3', x: [64, 32, 32, 64], outChannels: 64, k: 3, stride: 1 },
    { name: 'layer2 first: 64x32x32x64 -> 128, 3x3/2', x: [64, 32, 32, 64], outChannels: 128, k: 3, stride: 2 },
    { name: 'layer2 shortcut: 64x32x32x64 -> 128, 1x1/2', x: [64, 32, 32, 64], outChannels: 128, k: 1, stride: 2 },
    { name: 'layer3: 64x8x8x256 -> 256, 3x3', x: [64, 8, 8, 256], outChannels: 256, k: 3, stride: 1 },
    { name: 'layer4: 64x4x4x512 -> 512, 3x3', x: [64, 4, 4, 512], outChannels: 512, k: 3, stride: 1 },
  ],
};

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): void {
  tf.tidy(() => {
    (tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor).dataSync();
  });
}

/** Call a kernel config's function directly (a kernel that is not the registered one). */
function callConfig(config: tf.KernelConfig | undefined, inputs: tf.NamedTensorMap, attrs: object): void {
  if (!config) throw new Error('kernel not found');
  const backend = tf.backend() as BackendWasm;
  const out = config.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  backend.disposeData(out.dataId);
}

async function convRows(shape: Shape, reps: number, withCpu: boolean): Promise<string[]> {
  const { x: xShape, outChannels, k, stride } = shape;
  const pad = (k - 1) / 2;
  const explicit = [[0, 0], [pad, pad], [pad, pad], [0, 0]] as [[0, 0], [number, number], [number, number], [0, 0]];
  const filterShape: [number, number, number, number] = [k, k, xShape[3], outChannels];
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, stride, 1, explicit);
  const attrs = { strides: stride, pad: explicit, dataFormat: 'NHWC', dilations: 1 };
  const make = () => ({ x: tf.randomNormal(xShape, 0, 1, 'float32', 1), w: tf.randomNormal(filterShape, 0, 1, 'float32', 2), dy: tf.randomNormal(info.outShape, 0, 1, 'float32', 3) });
  const rows: string[] = [];
  const row = (what: string, t: Record<string, number>) => rows.push(`| ${shape.name} | ${what} | ${Object.entries(t).map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join('; ')} |`);

  if (withCpu) {
    await initEngine({ backend: 'cpu' });
    const { x, w, dy } = make();
    const cpuReps = 1;
    row('cpu backend', {
      forward: race({ f: () => runKernel('Conv2D', { x, filter: w }, attrs) }, cpuReps).f,
      'input grad': race({ f: () => runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: xShape }) }, cpuReps).f,
      'filter grad': race({ f: () => runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape }) }, cpuReps).f,
    });
    tf.dispose([x, w, dy]);
  }

  await initEngine({ backend: 'wasm-ort' });
  const { x, w, dy } = make();
  const backend = tf.backend() as BackendWasm;
  const inputAttrs = { ...attrs, inputShape: xShape };
  const filterAttrs = { ...attrs, filterShape };
  const composedInput = kernelBelow(conv2DBackpropInputOrtConfig);
  const composedFilter = kernelBelow(conv2DBackpropFilterOrtConfig);
  const swapped = ortOp(`bench:swap:${shape.name}`, () => conv2dFilterGradGraph(info)!);
  const taps = ortOp(`bench:taps:${shape.name}`, () => conv2dFilterGradTapsGraph(info)!);
  // onnxruntime's NCHWc kernels (nchwc.ts), where the channels fit its blocks.
  const block = nchwcBlockFor(info);
  const fwdPads: [number, number, number, number] = [info.padInfo.top, info.padInfo.left, info.padInfo.bottom, info.padInfo.right];
  const plainFwd = ortOp(`bench:plain:${shape.name}`, () => conv2dGraph(info, fwdPads));
  const nchwcFwd = block ? ortOp(`bench:nchwc:${shape.name}`, () => nchwcConvGraph(info, block, fwdPads)) : undefined;
  const igPads = inputGradAsConvPads(info);
  const nchwcInput = block && igPads ? ortOp(`bench:nchwc-ig:${shape.name}`, () => nchwcInputGradGraph(info, block, igPads)) : undefined;
  const dw = backend.makeOutput(filterShape, 'float32');
  const dx = backend.makeOutput(xShape, 'float32');
  const excess = [info.strideHeight * (info.outHeight - 1) + k - info.padInfo.top - info.inHeight, info.strideWidth * (info.outWidth - 1) + k - info.padInfo.left - info.inWidth];
  const convT = ortOp(`bench:convT:${shape.name}`, () => conv2dInputGradGraph(info, [info.padInfo.top, info.padInfo.left, Math.max(0, excess[0]), Math.max(0, excess[1])], [Math.max(0, -excess[0]), Math.max(0, -excess[1])]));
  const asConvGraph = conv2dInputGradAsConvGraph(info);
  const asConv = asConvGraph && ortOp(`bench:asConv:${shape.name}`, () => asConvGraph);
  const inputGrad = (op: typeof convT) => () => op.run({ dy: f32(backend.typedArrayFromHeap(dy) as Float32Array, info.outShape), filter: f32(backend.typedArrayFromHeap(w) as Float32Array, filterShape) }, { dx: f32(backend.typedArrayFromHeap(dx) as Float32Array, xShape) });
  const viaGraph = (op: typeof swapped) => () => op.run({ x: f32(backend.typedArrayFromHeap(x) as Float32Array, xShape), dy: f32(backend.typedArrayFromHeap(dy) as Float32Array, info.outShape) }, { dw: f32(backend.typedArrayFromHeap(dw) as Float32Array, filterShape) });
  // The layout cost: the same Conv on NCHW tensors, with no Transpose nodes (data values do not
  // matter for timing; the NHWC buffers are read as NCHW).
  const nchwInfo = tf.backend_util.computeConv2DInfo([xShape[0], xShape[3], xShape[1], xShape[2]], filterShape, stride, 1, [[0, 0], [0, 0], [pad, pad], [pad, pad]], undefined, false, 'channelsFirst');
  const p = nchwInfo.padInfo;
  const nchw = ortOp(`bench:nchw:${shape.name}`, () => conv2dGraph(nchwInfo, [p.top, p.left, p.bottom + Math.max(0, (nchwInfo.outHeight - 1) * stride + k - xShape[1] - p.top - p.bottom), p.right + Math.max(0, (nchwInfo.outWidth - 1) * stride + k - xShape[2] - p.left - p.right)]));
  const y = backend.makeOutput(info.outShape, 'float32');
  const viaForward = (op: typeof plainFwd) => () => op.run({ x: f32(backend.typedArrayFromHeap(x) as Float32Array, xShape), filter: f32(backend.typedArrayFromHeap(w) as Float32Array, filterShape) }, { y: f32(backend.typedArrayFromHeap(y) as Float32Array, info.outShape) });
  const forward = race(
    {
      'wasm (XNNPACK)': () => callConfig(originalKernel('Conv2D', 'wasm') ?? kernelBelow(tf.getKernel('Conv2D', 'wasm')), { x, filter: w }, attrs),
      'onnxruntime Conv': viaForward(plainFwd),
      ...(nchwcFwd ? { 'onnxruntime NCHWc': viaForward(nchwcFwd) } : {}),
      'onnxruntime on NCHW (no layout change)': () =>
        nchw.run({ x: f32(backend.typedArrayFromHeap(x) as Float32Array, nchwInfo.inShape), filter: f32(backend.typedArrayFromHeap(w) as Float32Array, filterShape) }, { y: f32(backend.typedArrayFromHeap(y) as Float32Array, nchwInfo.outShape) }),
    },
    reps,
  );
  row('forward', forward);
  row(
    'input grad',
    race(
      {
        'wasm own kernel': () => callConfig(originalKernel('Conv2DBackpropInput', 'wasm'), { dy, filter: w }, inputAttrs),
        'wasm composed': () => callConfig(composedInput, { dy, filter: w }, inputAttrs),
        'onnxruntime ConvTranspose': inputGrad(convT),
        ...(asConv ? { 'onnxruntime Conv (flipped filter)': inputGrad(asConv) } : {}),
        ...(nchwcInput ? { 'onnxruntime NCHWc (flipped filter)': () => nchwcInput.run({ dy: f32(backend.typedArrayFromHeap(dy) as Float32Array, info.outShape), filter: f32(backend.typedArrayFromHeap(w) as Float32Array, filterShape) }, { dx: f32(backend.typedArrayFromHeap(dx) as Float32Array, xShape) }) } : {}),
      },
      reps,
    ),
  );
  row(
    'filter grad',
    race(
      {
        'wasm composed': () => callConfig(composedFilter, { x, dy }, filterAttrs),
        'onnxruntime GEMM per tap': viaGraph(taps),
        'onnxruntime swapped Conv': viaGraph(swapped),
        // The padded grid (gridFilterGrad.ts), forced on whatever its extra work; stride 1 only.
        ...(stride === 1
          ? {
              'onnxruntime padded grid (views)': () => {
                const limits = setGridLimits({ maxOverhead: Infinity });
                try {
                  callConfig(conv2DBackpropFilterOrtConfig, { x, dy }, filterAttrs);
                } finally {
                  setGridLimits(limits);
                }
              },
            }
          : {}),
      },
      reps,
    ),
  );
  backend.disposeData(dw.dataId);
  backend.disposeData(dx.dataId);
  backend.disposeData(y.dataId);
  tf.dispose([x, w, dy]);
  return rows;
}

/** Batch norm + ReLU, training mode, forward and backward, on [64,32,32,64]. */
async function batchNormRows(reps: number, withCpu: boolean): Promise<string[]> {
  const shape = [64, 32, 32, 64];
  const textbook = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.relu(tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b));
  };
  const closed = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.relu(batchNormTrain(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y);
  let inputs: tf.Tensor[] = [];
  const prepare = () => {
    tf.dispose(inputs);
    inputs = [tf.randomNormal(shape, 0, 1, 'float32', 4), tf.randomNormal(shape, 0, 1, 'float32', 5), tf.ones([64]), tf.zeros([64])];
  };
  const step = (f: typeof textbook) => () =>
    tf.tidy(() => {
      const [x, dy, g, b] = inputs;
      tf.grads((a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(a, gg, bb), dy)))([x, g, b]).forEach((t) => t.dataSync());
    });
  const rows: string[] = [];
  if (withCpu) {
    await initEngine({ backend: 'cpu' });
    prepare();
    rows.push(`| BN + ReLU fwd+bwd, 64x32x32x64 | cpu backend | tfjs autodiff ${race({ f: step(textbook) }, 1).f.toFixed(0)}; closed form ${race({ f: step(closed) }, 1).f.toFixed(0)} |`);
  }
  await initEngine({ backend: 'wasm-ort' });
  prepare();
  const t = race({ 'tfjs autodiff': step(textbook), 'closed form (batchNormTrain)': step(closed) }, reps);
  rows.push(`| BN + ReLU fwd+bwd, 64x32x32x64 | wasm | ${Object.entries(t).map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join('; ')} |`);
  tf.dispose(inputs);
  return rows;
}

async function main(): Promise<void> {
  const reps = Number(arg('reps', '5'));
  const withCpu = process.argv.includes('--cpu');
  const sets = arg('shapes', 'issue,resnet').split(',');
  const lines = [
    `${new Date().toISOString()}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, Node ${process.version}, load average ${os.loadavg()[0].toFixed(2)}; medians of ${reps} in ms (cpu backend: 1 run)`,
    '',
    '| convolution | pass | ms |',
    '|---|---|---|',
  ];
  for (const set of sets) for (const shape of SHAPES[set]) lines.push(...(await convRows(shape, reps, withCpu && set === 'issue')));
  lines.push(...(await batchNormRows(reps, withCpu)));
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(1);
});
