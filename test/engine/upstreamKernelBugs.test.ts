/**
 * One regression case per upstream kernel bug the engines route around, on every engine, value and
 * gradients against the cpu backend (engineFuzz.ts' checkOnEngine); and, on the wasm engine, proof
 * that the upstream kernel is still wrong without the workaround (when one of these starts to pass,
 * tfjs fixed it and the workaround can go).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import { installKernels, SAME_PADDING_WORKAROUNDS, uninstallKernels } from '../../src/engine/kernels';
import { maxPoolGradConfig } from '../../src/engine/kernels/maxPoolGrad';
import { Random } from '../../src/core/random';
import { checkOnEngine, convPrepared, FUZZ_ENGINES, fuzzBackend, whyNotStartable, type ConvKind, type ConvSpec, type Prepared } from './engineFuzz';

const ONE: [number, number] = [1, 1];

interface Regression {
  name: string;
  prepare: () => Prepared;
  /** The kernels that route around it on wasm: without them the wasm engine is wrong here. */
  workaround?: readonly tf.KernelConfig[];
}

function conv(kind: ConvKind, spec: ConvSpec): () => Prepared {
  return () => convPrepared(kind, spec, new Random(5));
}

function opCase(desc: Record<string, unknown>, inputs: Record<string, number[]>, run: Prepared['run'], linearIn?: string[]): () => Prepared {
  return () => {
    const rng = new Random(6);
    const named: Prepared['inputs'] = {};
    for (const [name, shape] of Object.entries(inputs)) named[name] = { shape, values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()) };
    return { desc, inputs: named, run, linearIn };
  };
}

const REGRESSIONS: Regression[] = [
  { name: 'tfjs#6629: depthwise 3x1 stride 2 same', prepare: conv('depthwiseConv2d', { x: [1, 11, 12, 3], filter: [3, 1, 3, 3], strides: [2, 2], dilations: ONE, pad: 'same' }), workaround: SAME_PADDING_WORKAROUNDS },
  { name: 'tfjs#6629: depthwise 5x2 stride 3 same', prepare: conv('depthwiseConv2d', { x: [2, 10, 9, 2], filter: [5, 2, 2, 2], strides: [3, 3], dilations: ONE, pad: 'same' }), workaround: SAME_PADDING_WORKAROUNDS },
  { name: 'tfjs#6629: fused depthwise (bias, activation) 3x1 stride 2 same', prepare: conv('fusedDepthwiseConv2d', { x: [1, 11, 12, 3], filter: [3, 1, 3, 3], strides: [2, 2], dilations: ONE, pad: 'same' }), workaround: SAME_PADDING_WORKAROUNDS },
  { name: 'tfjs#8405: conv2d stride 6 larger than the 5x5 input under same', prepare: conv('conv2d', { x: [1, 5, 5, 3], filter: [3, 3, 3, 2], strides: [6, 6], dilations: ONE, pad: 'same' }), workaround: SAME_PADDING_WORKAROUNDS },
  { name: 'conv2d 1x4 stride 2 same (wasm XNNPACK same padding, issue 26)', prepare: conv('conv2d', { x: [2, 4, 10, 5], filter: [1, 4, 5, 3], strides: [2, 2], dilations: ONE, pad: 'same' }), workaround: SAME_PADDING_WORKAROUNDS },
  { name: 'conv2d 2x2 stride 3 same (wasm XNNPACK same padding, issue 26)', prepare: conv('conv2d', { x: [1, 3, 8, 6], filter: [2, 2, 6, 3], strides: [3, 3], dilations: ONE, pad: 'same' }), workaround: SAME_PADDING_WORKAROUNDS },
  { name: 'conv2dTranspose 1x3 stride 2 same: its input gradient is a strided same conv2d', prepare: conv('conv2dTranspose', { x: [2, 6, 9, 2], filter: [1, 3, 2, 3], strides: [2, 2], dilations: ONE, pad: 'same' }), workaround: SAME_PADDING_WORKAROUNDS },
  { name: 'conv2dTranspose 2x4 stride 3 same', prepare: conv('conv2dTranspose', { x: [1, 9, 9, 2], filter: [2, 4, 2, 3], strides: [3, 3], dilations: ONE, pad: 'same' }), workaround: SAME_PADDING_WORKAROUNDS },
  {
    name: 'conv2d gradient when every output row reads only padding (H 1, pad top 1, stride 2): composed kernels cropped to nothing',
    prepare: conv('conv2d', {
      x: [2, 1, 9, 3],
      filter: [1, 1, 3, 1],
      strides: [2, 3],
      dilations: ONE,
      pad: [
        [0, 0],
        [1, 0],
        [0, 0],
        [0, 0],
      ],
    }),
  },
  {
    name: 'wasm MaxPoolGrad with several channels and images',
    prepare: opCase({ x: [3, 2, 3, 2], filter: [1, 1], stride: [2, 2], pad: 'same' }, { x: [3, 2, 3, 2] }, ([x]) => [tf.maxPool(x as tf.Tensor4D, 1, 2, 'same')]),
    workaround: [maxPoolGradConfig],
  },
  { name: 'maxPool 3x3 stride 2 (ResNet stem) gradient', prepare: opCase({ x: [2, 9, 9, 4], filter: [3, 3], stride: [2, 2], pad: 'valid' }, { x: [2, 9, 9, 4] }, ([x]) => [tf.maxPool(x as tf.Tensor4D, 3, 2, 'valid')]) },
  {
    name: 'resizeBilinear gradient with halfPixelCenters, non-square (cpu and wasm ResizeBilinearGrad)',
    prepare: () => ({ ...opCase({ x: [2, 5, 7, 3], size: [9, 4] }, { x: [2, 5, 7, 3] }, ([x]) => [tf.image.resizeBilinear(x as tf.Tensor4D, [9, 4], false, true)], ['x'])(), cpuGradientNotIndependent: 'resizeGradients.ts' }),
  },
  {
    name: 'resizeNearestNeighbor gradient with alignCorners (cpu and wasm ResizeNearestNeighborGrad)',
    prepare: () => ({ ...opCase({ x: [1, 4, 6, 2], size: [7, 11] }, { x: [1, 4, 6, 2] }, ([x]) => [tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [7, 11], true, false)], ['x'])(), cpuGradientNotIndependent: 'resizeGradients.ts' }),
  },
  { name: 'matMul gradient with broadcast batch dimensions (tfjs-core BatchMatMul gradient)', prepare: opCase({ a: [2, 3, 4, 5], b: [5, 6] }, { a: [2, 3, 4, 5], b: [5, 6] }, ([a, b]) => [tf.matMul(a, b)], ['a', 'b']) },
  { name: 'matMul gradient, transposed, batch broadcast from 1', prepare: opCase({ a: [3, 6, 4], b: [1, 5, 6] }, { a: [3, 6, 4], b: [1, 5, 6] }, ([a, b]) => [tf.matMul(a, b, true, true)], ['a', 'b']) },
  { name: 'dilated conv2d 3x3 dilation 2 gradients (tfjs-core: "not yet supported")', prepare: conv('conv2d', { x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: ONE, dilations: [2, 2], pad: 'same' }) },
  { name: 'dilated conv2d 3x2 dilation [2,1], explicit padding', prepare: conv('conv2d', { x: [1, 8, 7, 2], filter: [3, 2, 2, 3], strides: ONE, dilations: [2, 1], pad: [[0, 0], [2, 1], [0, 2], [0, 0]] }) },
  { name: 'dilated depthwise 3x3 dilation 2 multiplier 2 gradients', prepare: conv('depthwiseConv2d', { x: [2, 10, 9, 3], filter: [3, 3, 3, 2], strides: ONE, dilations: [2, 2], pad: 'same' }) },
  { name: 'dilated depthwise 2x3 dilation [1,2] valid', prepare: conv('depthwiseConv2d', { x: [1, 7, 9, 2], filter: [2, 3, 2, 1], strides: ONE, dilations: [1, 2], pad: 'valid' }) },
];

for (const engine of FUZZ_ENGINES) {
  describe(`${engine}: upstream kernel bugs routed around`, () => {
    let skip: string | undefined;
    beforeAll(async () => {
      skip = await whyNotStartable(engine);
      if (!skip) await initEngine({ backend: engine, threads: 1 });
    });
    for (const r of REGRESSIONS) {
      it(r.name, async (ctx) => {
        if (skip) ctx.skip();
        expect(await checkOnEngine(fuzzBackend(engine), engine, r.prepare(), 1)).toEqual([]);
      });
    }
  });
}

describe('wasm: the upstream kernels are still wrong without the workarounds', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', threads: 1 });
  });
  for (const r of REGRESSIONS.filter((x) => x.workaround)) {
    it(r.name, async () => {
      uninstallKernels(r.workaround!);
      try {
        expect((await checkOnEngine('wasm', 'wasm', r.prepare(), 1)).length).toBeGreaterThan(0);
      } finally {
        installKernels(r.workaround!);
      }
    });
  }
});
