/**
 * The wasm training kernels against the cpu backend (and, where the cpu backend is no reference,
 * against the plain loops of src/engine/kernels/reference.ts), over grids of shapes, strides,
 * paddings, dilations and data formats.
 *
 * Tolerance: max |wasm - reference| <= 2e-5 * max(1, max |reference|). Both sides accumulate in
 * float32 over at most a few hundred terms here, in different orders.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/engine/kernels';
import { ensureGradients } from '../../src/engine/gradients';
import { depthwiseBackpropFilterLoops, depthwiseBackpropInputLoops } from '../../src/engine/kernels/reference';
import { geometryOf } from '../../src/engine/kernels/convGeometry';
import { maxAbsDiff, randomValues, runKernelOn, type InputSpec } from './kernelHarness';

const TOLERANCE = 2e-5;

async function compareWithCpu(kernel: string, inputs: Record<string, InputSpec>, attrs: Record<string, unknown>, seed: number): Promise<void> {
  const expected = await runKernelOn('cpu', kernel, inputs, attrs, seed);
  const actual = await runKernelOn('wasm', kernel, inputs, attrs, seed);
  expect(actual.shape).toEqual(expected.shape);
  const { diff, scale } = maxAbsDiff(actual.values, expected.values);
  expect(diff, `${kernel} ${JSON.stringify(attrs)}`).toBeLessThanOrEqual(TOLERANCE * Math.max(1, scale));
}

type Pad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number]; // kh, kw
  outChannels: number;
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 6, 6, 3], filter: [3, 3], outChannels: 4, strides: 1, pad: 'same' },
  { x: [2, 6, 6, 3], filter: [3, 3], outChannels: 4, strides: 1, pad: 'valid' },
  { x: [2, 7, 7, 3], filter: [3, 3], outChannels: 5, strides: 2, pad: 'same' },
  { x: [2, 8, 8, 3], filter: [3, 3], outChannels: 5, strides: 2, pad: 'same' },
  { x: [2, 8, 7, 2], filter: [3, 3], outChannels: 3, strides: 2, pad: 'valid' }, // leftover rows/cols
  { x: [1, 9, 8, 2], filter: [2, 3], outChannels: 3, strides: [2, 3], pad: 'valid' },
  { x: [1, 9, 8, 2], filter: [2, 3], outChannels: 3, strides: [3, 2], pad: 'same' },
  { x: [2, 8, 8, 4], filter: [1, 1], outChannels: 6, strides: 2, pad: 'valid' }, // ResNet downsample
  { x: [2, 8, 8, 4], filter: [1, 1], outChannels: 6, strides: 1, pad: 'same' },
  { x: [1, 10, 10, 2], filter: [5, 5], outChannels: 2, strides: 1, pad: 2 },
  { x: [1, 10, 9, 2], filter: [3, 3], outChannels: 2, strides: 2, pad: 1, dimRoundingMode: 'floor' },
  { x: [1, 10, 9, 2], filter: [3, 3], outChannels: 2, strides: 2, pad: 1, dimRoundingMode: 'ceil' },
  { x: [1, 10, 9, 2], filter: [3, 3], outChannels: 2, strides: 2, pad: 1, dimRoundingMode: 'round' },
  { x: [2, 7, 6, 3], filter: [3, 2], outChannels: 2, strides: 1, pad: [[0, 0], [1, 2], [0, 3], [0, 0]] },
  // Padding wider than the kernel: some output rows see only padding (negative "full" padding).
  { x: [1, 5, 5, 2], filter: [2, 2], outChannels: 3, strides: 1, pad: [[0, 0], [3, 0], [0, 4], [0, 0]] },
  { x: [1, 6, 6, 2], filter: [3, 3], outChannels: 3, strides: 2, pad: [[0, 0], [4, 4], [3, 5], [0, 0]] },
  { x: [1, 7, 7, 1], filter: [7, 7], outChannels: 1, strides: 1, pad: 'valid' }, // output 1x1
  { x: [3, 5, 5, 1], filter: [3, 3], outChannels: 1, strides: 3, pad: 'same' },
];

function convOutShape(c: ConvCase, format: 'NHWC' | 'NCHW'): number[] {
  const info = tf.backend_util.computeConv2DInfo(c.x, [c.filter[0], c.filter[1], c.x[3], c.outChannels], c.strides, 1, c.pad, c.dimRoundingMode);
  return format === 'NHWC' ? info.outShape : [info.outShape[0], info.outShape[3], info.outShape[1], info.outShape[2]];
}

function toFormat(shape: number[], format: 'NHWC' | 'NCHW'): number[] {
  return format === 'NHWC' ? shape : [shape[0], shape[3], shape[1], shape[2]];
}

/** Explicit paddings are written in the data format's axis order. */
function padIn(pad: Pad, format: 'NHWC' | 'NCHW'): unknown {
  return Array.isArray(pad) && format === 'NCHW' ? [pad[0], pad[3], pad[1], pad[2]] : pad;
}

beforeAll(async () => {
  ensureGradients();
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
});

describe('Conv2DBackpropInput (wasm, composed from Conv2D)', () => {
  for (const format of ['NHWC', 'NCHW'] as const) {
    CONV_CASES.forEach((c, i) => {
      it(`${format} case ${i}: x ${c.x} filter ${c.filter} strides ${c.strides} pad ${JSON.stringify(c.pad)} ${c.dimRoundingMode ?? ''}`, async () => {
        const filterShape = [c.filter[0], c.filter[1], c.x[3], c.outChannels];
        await compareWithCpu('Conv2DBackpropInput', { dy: { shape: convOutShape(c, format) }, filter: { shape: filterShape } }, { strides: c.strides, pad: padIn(c.pad, format), dataFormat: format, dimRoundingMode: c.dimRoundingMode, inputShape: toFormat(c.x, format) }, 10 + i);
      });
    });
  }
});

describe('Conv2DBackpropFilter (wasm, composed from Conv2D)', () => {
  for (const format of ['NHWC', 'NCHW'] as const) {
    CONV_CASES.forEach((c, i) => {
      it(`${format} case ${i}: x ${c.x} filter ${c.filter} strides ${c.strides} pad ${JSON.stringify(c.pad)} ${c.dimRoundingMode ?? ''}`, async () => {
        const filterShape = [c.filter[0], c.filter[1], c.x[3], c.outChannels];
        await compareWithCpu('Conv2DBackpropFilter', { x: { shape: toFormat(c.x, format) }, dy: { shape: convOutShape(c, format) } }, { strides: c.strides, pad: padIn(c.pad, format), dataFormat: format, dimRoundingMode: c.dimRoundingMode, filterShape }, 50 + i);
      });
    });
  }
});

describe('conv gradients of non-float32 tensors use the plain loops', () => {
  it('Conv2DBackpropFilter and Conv2DBackpropInput on int32 match the cpu backend', async () => {
    const c = CONV_CASES[2];
    const dyShape = convOutShape(c, 'NHWC');
    const filterShape = [3, 3, 3, 5];
    await compareWithCpu('Conv2DBackpropFilter', { x: { shape: c.x, dtype: 'int32' }, dy: { shape: dyShape, dtype: 'int32' } }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape }, 3);
    await compareWithCpu('Conv2DBackpropInput', { dy: { shape: dyShape, dtype: 'int32' }, filter: { shape: filterShape, dtype: 'int32' } }, { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: c.x }, 4);
  });
});

interface DepthwiseCase {
  x: [number, number, number, number];
  filter: [number, number];
  multiplier: number;
  strides: number;
  dilations: number;
  pad: Pad;
}

const DEPTHWISE_CASES: DepthwiseCase[] = [
  { x: [2, 6, 6, 3], filter: [3, 3], multiplier: 1, strides: 1, dilations: 1, pad: 'same' },
  { x: [2, 7, 7, 3], filter: [3, 3], multiplier: 2, strides: 2, dilations: 1, pad: 'same' },
  { x: [2, 8, 7, 2], filter: [3, 3], multiplier: 3, strides: 2, dilations: 1, pad: 'valid' },
  { x: [1, 9, 8, 4], filter: [2, 3], multiplier: 1, strides: 1, dilations: 1, pad: 'valid' },
  { x: [1, 9, 9, 2], filter: [5, 5], multiplier: 2, strides: 1, dilations: 1, pad: 2 },
  { x: [1, 8, 8, 2], filter: [3, 3], multiplier: 1, strides: 3, dilations: 1, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [1, 5, 5, 2], filter: [2, 2], multiplier: 2, strides: 1, dilations: 1, pad: [[0, 0], [3, 0], [0, 3], [0, 0]] },
];

// The cpu backend's depthwise gradients ignore dilations, so these compare with the plain loops.
const DILATED_DEPTHWISE_CASES: DepthwiseCase[] = [
  { x: [2, 9, 9, 3], filter: [3, 3], multiplier: 1, strides: 1, dilations: 2, pad: 'same' },
  { x: [1, 10, 9, 2], filter: [3, 2], multiplier: 2, strides: 1, dilations: 3, pad: 'valid' },
  { x: [1, 11, 11, 2], filter: [3, 3], multiplier: 2, strides: 2, dilations: 2, pad: 'same' },
];

function depthwiseInfo(c: DepthwiseCase): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(c.x, [c.filter[0], c.filter[1], c.x[3], c.multiplier], c.strides, c.dilations, c.pad, undefined, true);
}

describe('DepthwiseConv2dNativeBackpropInput (wasm, composed from DepthwiseConv2dNative)', () => {
  DEPTHWISE_CASES.forEach((c, i) => {
    it(`case ${i}: x ${c.x} filter ${c.filter}x${c.multiplier} strides ${c.strides} pad ${JSON.stringify(c.pad)}`, async () => {
      const filterShape = [c.filter[0], c.filter[1], c.x[3], c.multiplier];
      await compareWithCpu('DepthwiseConv2dNativeBackpropInput', { dy: { shape: depthwiseInfo(c).outShape }, filter: { shape: filterShape } }, { strides: c.strides, dilations: c.dilations, pad: c.pad, inputShape: c.x }, 100 + i);
    });
  });
  DILATED_DEPTHWISE_CASES.forEach((c, i) => {
    it(`dilated case ${i}: x ${c.x} filter ${c.filter}x${c.multiplier} strides ${c.strides} dilations ${c.dilations} pad ${JSON.stringify(c.pad)} (vs plain loops)`, async () => {
      const info = depthwiseInfo(c);
      const filterShape = [c.filter[0], c.filter[1], c.x[3], c.multiplier];
      const dy = randomValues(info.outShape, 7 + i) as Float32Array;
      const filter = randomValues(filterShape, 8 + i) as Float32Array;
      const actual = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy: { shape: info.outShape, values: dy }, filter: { shape: filterShape, values: filter } }, { strides: c.strides, dilations: c.dilations, pad: c.pad, inputShape: c.x });
      const expected = depthwiseBackpropInputLoops(geometryOf(info), dy, filter, c.multiplier);
      const { diff, scale } = maxAbsDiff(actual.values, expected);
      expect(actual.shape).toEqual(c.x);
      expect(diff).toBeLessThanOrEqual(TOLERANCE * Math.max(1, scale));
    });
  });
});

describe('DepthwiseConv2dNativeBackpropFilter (wasm, composed from DepthwiseConv2dNative)', () => {
  DEPTHWISE_CASES.forEach((c, i) => {
    it(`case ${i}: x ${c.x} filter ${c.filter}x${c.multiplier} strides ${c.strides} pad ${JSON.stringify(c.pad)}`, async () => {
      const filterShape = [c.filter[0], c.filter[1], c.x[3], c.multiplier];
      await compareWithCpu('DepthwiseConv2dNativeBackpropFilter', { x: { shape: c.x }, dy: { shape: depthwiseInfo(c).outShape } }, { strides: c.strides, dilations: c.dilations, pad: c.pad, filterShape }, 200 + i);
    });
  });
  DILATED_DEPTHWISE_CASES.forEach((c, i) => {
    it(`dilated case ${i}: x ${c.x} filter ${c.filter}x${c.multiplier} strides ${c.strides} dilations ${c.dilations} (vs plain loops)`, async () => {
      const info = depthwiseInfo(c);
      const filterShape = [c.filter[0], c.filter[1], c.x[3], c.multiplier];
      const x = randomValues(c.x, 17 + i) as Float32Array;
      const dy = randomValues(info.outShape, 18 + i) as Float32Array;
      const actual = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x: { shape: c.x, values: x }, dy: { shape: info.outShape, values: dy } }, { strides: c.strides, dilations: c.dilations, pad: c.pad, filterShape });
      const expected = depthwiseBackpropFilterLoops(geometryOf(info), x, dy, c.multiplier);
      const { diff, scale } = maxAbsDiff(actual.values, expected);
      expect(actual.shape).toEqual(filterShape);
      expect(diff).toBeLessThanOrEqual(TOLERANCE * Math.max(1, scale));
    });
  });
});

describe('UnsortedSegmentSum (wasm)', () => {
  const cases: Array<{ x: number[]; ids: number[]; numSegments: number; dtype: 'float32' | 'int32' }> = [
    { x: [6, 4], ids: [0, 2, 2, 1, 0, 3], numSegments: 4, dtype: 'float32' },
    { x: [5, 2, 3], ids: [4, 4, 1, 0, 2], numSegments: 6, dtype: 'float32' }, // empty segments stay zero
    { x: [4], ids: [1, -1, 1, 7], numSegments: 3, dtype: 'float32' }, // out-of-range ids are dropped
    { x: [5, 3], ids: [1, 0, 1, 0, 2], numSegments: 3, dtype: 'int32' },
  ];
  cases.forEach((c, i) => {
    it(`case ${i}: x ${c.x} (${c.dtype}) into ${c.numSegments} segments`, async () => {
      await compareWithCpu('UnsortedSegmentSum', { x: { shape: c.x, dtype: c.dtype }, segmentIds: { shape: [c.ids.length], dtype: 'int32', values: c.ids } }, { numSegments: c.numSegments }, 300 + i);
    });
  });

  it('matches hand-computed sums', async () => {
    const out = await runKernelOn('wasm', 'UnsortedSegmentSum', { x: { shape: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8] }, segmentIds: { shape: [4], dtype: 'int32', values: [1, 0, 1, 5] } }, { numSegments: 3 });
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(out.values)).toEqual([3, 4, 6, 8, 0, 0]);
  });
});

describe('gradients through tf ops on wasm', () => {
  it('tf.grads of conv2d and depthwiseConv2d equal the cpu backend', async () => {
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(randomValues([2, 9, 9, 3], 1) as Float32Array, [2, 9, 9, 3]);
        const w = tf.tensor4d(randomValues([3, 3, 3, 4], 2) as Float32Array, [3, 3, 3, 4]);
        const d = tf.tensor4d(randomValues([3, 3, 4, 2], 3) as Float32Array, [3, 3, 4, 2]);
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), c as tf.Tensor4D, 1, 'valid')));
        return tf.grads(f)([x, w, d]).map((g) => Float32Array.from(g.dataSync()));
      });
    };
    const expected = await grads('cpu');
    const actual = await grads('wasm');
    for (let i = 0; i < 3; i++) {
      const { diff, scale } = maxAbsDiff(actual[i], expected[i]);
      expect(diff, `gradient ${i}`).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
    }
  });
});
