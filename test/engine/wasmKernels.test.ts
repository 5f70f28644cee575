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
import { CONV_CASES, convOutShape, DEPTHWISE_CASES, DILATED_DEPTHWISE_CASES, depthwiseInfo, padIn, toFormat, type DepthwiseCase } from './cases';

const TOLERANCE = 2e-5;

async function compareWithCpu(kernel: string, inputs: Record<string, InputSpec>, attrs: Record<string, unknown>, seed: number): Promise<void> {
  const expected = await runKernelOn('cpu', kernel, inputs, attrs, seed);
  const actual = await runKernelOn('wasm', kernel, inputs, attrs, seed);
  expect(actual.shape).toEqual(expected.shape);
  const { diff, scale } = maxAbsDiff(actual.values, expected.values);
  expect(diff, `${kernel} ${JSON.stringify(attrs)}`).toBeLessThanOrEqual(TOLERANCE * Math.max(1, scale));
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

describe('DepthwiseConv2dNative (wasm: SIMD runs for float32, multiplier 1, channels in fours and more than 9 taps; XNNPACK otherwise)', () => {
  // Filters of more than 9 taps with channels in fours: the SIMD runs (strided, dilated, 'same', uneven explicit padding).
  const simdCases: DepthwiseCase[] = [
    { x: [2, 11, 10, 8], filter: [5, 5], multiplier: 1, strides: 2, dilations: 1, pad: 'same' },
    { x: [1, 15, 14, 4], filter: [7, 7], multiplier: 1, strides: 1, dilations: 2, pad: 'valid' },
    { x: [2, 7, 9, 12], filter: [4, 3], multiplier: 1, strides: 3, dilations: 1, pad: [[0, 0], [2, 1], [0, 3], [0, 0]] },
  ];
  // tfjs takes dilations > 1 only at stride 1.
  [...DEPTHWISE_CASES, ...DILATED_DEPTHWISE_CASES.filter((c) => c.strides === 1), ...simdCases].forEach((c, i) => {
    it(`case ${i}: x ${c.x} filter ${c.filter}x${c.multiplier} strides ${c.strides} dilations ${c.dilations} pad ${JSON.stringify(c.pad)}`, async () => {
      const filterShape = [c.filter[0], c.filter[1], c.x[3], c.multiplier];
      await compareWithCpu('DepthwiseConv2dNative', { x: { shape: c.x }, filter: { shape: filterShape } }, { strides: c.strides, dilations: c.dilations, pad: c.pad, dataFormat: 'NHWC' }, 300 + i);
    });
  });
});

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

describe('Identity and same-dtype Cast share data on wasm (as on the cpu backend)', () => {
  it('clone and cast keep their values after the original is gone, without new wasm memory', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const x = tf.tensor2d([1.5, -2, 3, 4], [2, 2]);
    const ids = backend.numDataIds();
    const c = tf.clone(x);
    const same = tf.cast(x, 'float32');
    expect(backend.numDataIds()).toBe(ids);
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1.5, -2, 3, 4]);
    expect(Array.from(same.dataSync())).toEqual([1.5, -2, 3, 4]);
    const toInt = tf.cast(c, 'int32');
    expect(toInt.dtype).toBe('int32');
    expect(Array.from(toInt.dataSync())).toEqual([1, -2, 3, 4]);
    tf.dispose([c, same, toInt]);
    expect(backend.numDataIds()).toBe(ids - 1);
  });
});

describe('Unpack (wasm, contiguous runs)', () => {
  const cases: Array<{ shape: number[]; axis: number; dtype?: 'float32' | 'int32' }> = [
    { shape: [3, 2, 6, 5, 16], axis: 0 }, // attention's q, k, v split
    { shape: [2, 4, 3, 32], axis: 2 }, // runs of 32 inside each of 8 outer blocks
    { shape: [5, 3, 17], axis: -2 },
    { shape: [4, 6, 2], axis: 1 }, // runs of 2: the backend's own kernel
    { shape: [7, 20], axis: 0, dtype: 'int32' },
  ];
  cases.forEach((c, i) => {
    it(`tf.unstack of ${c.shape} (${c.dtype ?? 'float32'}) along ${c.axis} equals the cpu backend`, async () => {
      const values = randomValues(c.shape, 700 + i, c.dtype);
      const unstack = async (backend: string) => {
        await tf.setBackend(backend);
        return tf.tidy(() => tf.unstack(tf.tensor(values as Float32Array, c.shape, c.dtype ?? 'float32'), c.axis).map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) })));
      };
      expect(await unstack('wasm')).toEqual(await unstack('cpu'));
    });
  });
});
