/**
 * The depthwise convolution's forward pass on the wasm engines: the SIMD runs
 * (src/engine/kernels/depthwiseConv2dNative.ts) against the backend's own XNNPACK kernel, on
 * MobileNetV2's 3x3 shapes and ConvNeXt's 7x7 ones (batch 64, float32, PyTorch-style padding), the
 * median of 7 calls each. It decides which filters the SIMD kernel takes (BENCHMARKS.md).
 *
 *   node -r sucrase/register bench/engine/depthwiseForward.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import { installKernels, uninstallKernels } from '../../src/engine/kernels';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { depthwiseConv2dNativeConfig, depthwiseRuns } from '../../src/engine/kernels/depthwiseConv2dNative';

const SHAPES: Array<[number, [number, number, number, number], number]> = [
  [3, [64, 32, 32, 96], 1],
  [3, [64, 32, 32, 144], 2],
  [5, [64, 16, 16, 96], 1],
  [7, [64, 16, 16, 96], 1],
  [7, [64, 8, 8, 384], 1],
];

function medianMs(run: () => tf.Tensor): number {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    const y = run();
    y.dataSync();
    times.push(performance.now() - t);
    y.dispose();
  }
  return times.sort((a, b) => a - b)[3];
}

async function main(): Promise<void> {
  await initEngine({ backend: 'wasm-ort' });
  for (const [k, shape, stride] of SHAPES) {
    const x = tf.randomNormal(shape);
    const f = tf.randomNormal([k, k, shape[3], 1]) as tf.Tensor4D;
    const p = (k - 1) / 2;
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p, p], [p, p], [0, 0]];
    // The SIMD loops called directly (the kernel passes 3x3 filters on to XNNPACK), then XNNPACK's kernel alone.
    const backend = tf.backend() as BackendWasm;
    const simd = medianMs(() => tf.engine().makeTensorFromTensorInfo(depthwiseRuns(backend, x, f, { strides: stride, pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined as unknown as 'floor' })!));
    uninstallKernels([depthwiseConv2dNativeConfig]);
    const xnnpack = medianMs(() => tf.depthwiseConv2d(x as tf.Tensor4D, f, stride, pad));
    installKernels([depthwiseConv2dNativeConfig]);
    console.log(`${k}x${k} stride ${stride} x [${shape}]: SIMD runs ${simd.toFixed(1)} ms, XNNPACK ${xnnpack.toFixed(1)} ms (${(xnnpack / simd).toFixed(2)}x)`);
    tf.dispose([x, f]);
  }
}

void main();
