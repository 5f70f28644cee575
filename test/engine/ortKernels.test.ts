/**
 * The wasm-ort engine's onnxruntime kernels against the cpu backend over the same grid as the
 * wasm kernels, and checks that they really ran on onnxruntime (no silent fallback) where they
 * should, and fell back where they should.
 *
 * Tolerance: max |ort - cpu| <= 2e-5 * max(1, max |cpu|) (float32 sums in different orders).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { installKernels, WASM_TRAINING_KERNELS } from '../../src/engine/kernels';
import { ORT_KERNELS } from '../../src/engine/ort/kernels';
import { fallbackCounts } from '../../src/engine/ort/kernels/common';
import { ortOp, ortRejections } from '../../src/engine/ort/session';
import { OnnxType } from '../../src/engine/ort/onnxModel';
import { ensureGradients } from '../../src/engine/gradients';
import { maxAbsDiff, runKernelOn, type InputSpec } from './kernelHarness';
import { CONV_CASES, convOutShape, padIn, toFormat, type ConvCase } from './cases';
import { nchwcBlockFor, nchwcBlockSize } from '../../src/engine/ort/nchwc';
import { gridChunks, gridPlan, gridStats, setGridLimits, type GridLimits } from '../../src/engine/ort/gridFilterGrad';

const TOLERANCE = 2e-5;

async function compareWithCpu(kernel: string, inputs: Record<string, InputSpec>, attrs: Record<string, unknown>, seed: number): Promise<void> {
  const expected = await runKernelOn('cpu', kernel, inputs, attrs, seed);
  const actual = await runKernelOn('wasm', kernel, inputs, attrs, seed);
  expect(actual.shape).toEqual(expected.shape);
  const { diff, scale } = maxAbsDiff(actual.values, expected.values);
  expect(diff, `${kernel} ${JSON.stringify(attrs)}`).toBeLessThanOrEqual(TOLERANCE * Math.max(1, scale));
}

/** Run `body` and return how often each kernel fell back meanwhile. */
async function fallbacksDuring(body: () => Promise<void>): Promise<Record<string, number>> {
  const before = new Map(fallbackCounts);
  await body();
  const out: Record<string, number> = {};
  for (const [k, n] of fallbackCounts) if (n !== (before.get(k) ?? 0)) out[k] = n - (before.get(k) ?? 0);
  return out;
}

beforeAll(async () => {
  ensureGradients();
  await tf.setBackend('wasm');
  installKernels(WASM_TRAINING_KERNELS);
  installKernels(ORT_KERNELS);
});

describe('onnxruntime convolutions vs the cpu backend', () => {
  for (const format of ['NHWC', 'NCHW'] as const) {
    CONV_CASES.forEach((c, i) => {
      const label = `${format} case ${i}: x ${c.x} filter ${c.filter} strides ${c.strides} pad ${JSON.stringify(c.pad)} ${c.dimRoundingMode ?? ''}`;
      const filterShape = [c.filter[0], c.filter[1], c.x[3], c.outChannels];
      const common = { strides: c.strides, pad: padIn(c.pad, format), dataFormat: format, dimRoundingMode: c.dimRoundingMode };
      it(`Conv2D ${label}`, async () => {
        const fell = await fallbacksDuring(() => compareWithCpu('Conv2D', { x: { shape: toFormat(c.x, format) }, filter: { shape: filterShape } }, { ...common, dilations: 1 }, 400 + i));
        expect(fell).toEqual({});
      });
      it(`Conv2DBackpropInput ${label}`, async () => {
        const fell = await fallbacksDuring(() => compareWithCpu('Conv2DBackpropInput', { dy: { shape: convOutShape(c, format) }, filter: { shape: filterShape } }, { ...common, inputShape: toFormat(c.x, format) }, 500 + i));
        expect(fell).toEqual({});
      });
      it(`Conv2DBackpropFilter ${label}`, async () => {
        const fell = await fallbacksDuring(() => compareWithCpu('Conv2DBackpropFilter', { x: { shape: toFormat(c.x, format) }, dy: { shape: convOutShape(c, format) } }, { ...common, filterShape }, 600 + i));
        expect(fell).toEqual({});
      });
    });
  }

  // Channels in whole NCHWc blocks (16 on AVX-512, 8 on AVX2): the forward pass and the stride-1
  // input gradient run on the blocked kernels (nchwc.ts), the rest of the grid above on the plain ones.
  const BLOCKED_CASES: ConvCase[] = [
    { x: [2, 7, 7, 16], filter: [3, 3], outChannels: 32, strides: 1, pad: 'same' },
    { x: [2, 6, 6, 32], filter: [3, 3], outChannels: 16, strides: 1, pad: 'valid' },
    { x: [2, 8, 8, 16], filter: [3, 3], outChannels: 16, strides: 2, pad: 'same' },
    { x: [1, 9, 8, 32], filter: [2, 3], outChannels: 16, strides: [2, 3], pad: 'valid' },
    { x: [1, 10, 9, 16], filter: [5, 5], outChannels: 16, strides: 1, pad: 2 },
    { x: [2, 7, 6, 16], filter: [3, 2], outChannels: 16, strides: 1, pad: [[0, 0], [1, 2], [0, 3], [0, 0]] },
  ];
  it('runs on the NCHWc kernels here (block 8 or 16), and only where the channels fit', () => {
    expect([8, 16]).toContain(nchwcBlockSize());
    const fits = (c: ConvCase) => nchwcBlockFor(tf.backend_util.computeConv2DInfo(c.x, [c.filter[0], c.filter[1], c.x[3], c.outChannels], c.strides, 1, c.pad));
    expect(BLOCKED_CASES.map(fits)).toEqual(BLOCKED_CASES.map(() => nchwcBlockSize()));
    expect(CONV_CASES.map(fits).every((b) => b === 0)).toBe(true);
  });
  for (const format of ['NHWC', 'NCHW'] as const) {
    BLOCKED_CASES.forEach((c, i) => {
      const filterShape = [c.filter[0], c.filter[1], c.x[3], c.outChannels];
      const common = { strides: c.strides, pad: padIn(c.pad, format), dataFormat: format, dimRoundingMode: c.dimRoundingMode };
      it(`NCHWc ${format} case ${i}: x ${c.x} filter ${c.filter} -> ${c.outChannels} strides ${c.strides} pad ${JSON.stringify(c.pad)}: forward and input gradient`, async () => {
        const fell = await fallbacksDuring(async () => {
          await compareWithCpu('Conv2D', { x: { shape: toFormat(c.x, format) }, filter: { shape: filterShape } }, { ...common, dilations: 1 }, 1400 + i);
          await compareWithCpu('Conv2DBackpropInput', { dy: { shape: convOutShape(c, format) }, filter: { shape: filterShape } }, { ...common, inputShape: toFormat(c.x, format) }, 1500 + i);
          await compareWithCpu('Conv2DBackpropFilter', { x: { shape: toFormat(c.x, format) }, dy: { shape: convOutShape(c, format) } }, { ...common, filterShape }, 1600 + i);
        });
        expect(fell).toEqual({});
      });
    });
  }
  it('NCHWc: dilated forward, and FusedConv2D with bias and relu', async () => {
    await compareWithCpu('Conv2D', { x: { shape: [2, 11, 10, 16] }, filter: { shape: [3, 2, 16, 32] } }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: [2, 3] }, 1700);
    for (const activation of ['linear', 'relu']) {
      const fell = await fallbacksDuring(() => compareWithCpu('FusedConv2D', { x: { shape: [2, 8, 8, 16] }, filter: { shape: [3, 3, 16, 16] }, bias: { shape: [16] } }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation }, 1710));
      expect(fell).toEqual({});
    }
  });

  it('Conv2D with dilations', async () => {
    for (const [i, dilations] of [2, [2, 3]].entries()) {
      await compareWithCpu('Conv2D', { x: { shape: [2, 11, 10, 3] }, filter: { shape: [3, 2, 3, 4] } }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations }, 700 + i);
    }
  });

  it('FusedConv2D with bias and relu, and its fallback for other activations', async () => {
    const x = { shape: [2, 8, 8, 3] };
    const filter = { shape: [3, 3, 3, 5] };
    const bias = { shape: [5] };
    for (const activation of ['linear', 'relu']) {
      const fell = await fallbacksDuring(() => compareWithCpu('FusedConv2D', { x, filter, bias }, { strides: 2, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation }, 710));
      expect(fell).toEqual({});
    }
    const fell = await fallbacksDuring(() => compareWithCpu('FusedConv2D', { x, filter, bias }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, activation: 'elu' }, 711));
    expect(fell).toEqual({ FusedConv2D: 1 });
  });

  it('int32 convolutions fall back to the composed kernels and still match', async () => {
    const c = CONV_CASES[2];
    const fell = await fallbacksDuring(() =>
      compareWithCpu('Conv2DBackpropFilter', { x: { shape: c.x, dtype: 'int32' }, dy: { shape: convOutShape(c, 'NHWC'), dtype: 'int32' } }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 5] }, 3),
    );
    expect(fell).toEqual({ Conv2DBackpropFilter: 1 });
  });

  // The stride-1 filter gradient on the padded grid (gridFilterGrad.ts): forced onto every case it
  // applies to (the default takes it only where the grid adds under 20% work), each checked against
  // the cpu backend and counted, so a silent fall back to the slices cannot pass; and again with
  // the images summed in chunks of two (the last one short where the batch is odd).
  describe('the filter gradient on the padded grid', () => {
    let defaults: GridLimits;
    beforeAll(() => {
      defaults = setGridLimits({ maxOverhead: Infinity });
    });
    afterAll(() => {
      setGridLimits(defaults);
    });
    // Five images: summed in chunks of two, the last one short.
    const cases = [...CONV_CASES, ...BLOCKED_CASES, { x: [5, 6, 5, 3], filter: [3, 3], outChannels: 4, strides: 1, pad: 'same' } as ConvCase].filter((c) => c.strides === 1 && c.filter[0] * c.filter[1] > 1);
    it('covers every stride-1 case of the grid but the 1x1 filter (one tap: x as it is): paddings asymmetric, wider than the kernel, none; 1x1 outputs', () => {
      expect(cases).toHaveLength(11);
    });
    const chunkedCases = cases.filter((c) => c.x[0] > 1);
    it('sums the images of every batch of more than one in chunks: of one image, and of two for the five', () => {
      expect(chunkedCases.map((c) => c.x[0])).toEqual([2, 2, 2, 2, 2, 2, 5]);
    });
    for (const chunked of [false, true]) {
      (chunked ? chunkedCases : cases).forEach((c, i) => {
        const chunk = chunked ? Math.min(2, c.x[0] - 1) : c.x[0];
        it(`x ${c.x} filter ${c.filter} -> ${c.outChannels} pad ${JSON.stringify(c.pad)}${chunked ? `, images in chunks of ${chunk}` : ''}`, async () => {
          const filterShape = [c.filter[0], c.filter[1], c.x[3], c.outChannels];
          const info = tf.backend_util.computeConv2DInfo(c.x, filterShape as [number, number, number, number], 1, 1, c.pad);
          const previous = setGridLimits({ maxPartialFloats: chunk * c.x[3] * c.outChannels });
          try {
            expect(gridChunks(c.x[0], gridPlan(info)!)).toHaveLength(Math.ceil(c.x[0] / chunk));
            const runs = gridStats.runs;
            const fell = await fallbacksDuring(() => compareWithCpu('Conv2DBackpropFilter', { x: { shape: c.x }, dy: { shape: convOutShape(c, 'NHWC') } }, { strides: 1, pad: c.pad, dataFormat: 'NHWC', filterShape }, 1700 + i));
            expect(fell).toEqual({});
            expect(gridStats.runs).toBe(runs + 1);
          } finally {
            setGridLimits(previous);
          }
        });
      });
    }
    it('is what the default picks for ResNet-18 at 32x32, not at 16x16, 8x8 or 4x4 (the grid would add 27%, 56% and 125%)', () => {
      const forced = setGridLimits(defaults);
      try {
        const plan = (size: number, channels: number, batch = 64) => gridPlan(tf.backend_util.computeConv2DInfo([batch, size, size, channels], [3, 3, channels, channels], 1, 1, 'same'));
        expect(plan(32, 64)).toMatchObject({ hp: 34, wp: 34, rows: 34 * 34, offsets: [0, 1, 2, 34, 35, 36, 68, 69, 70], tail: 70, chunk: 64, pads: [1, 1, 1, 1] });
        // 4 Mi floats of per-image products at most: 2,048 images of 64 -> 64 channels go in chunks of 1,024.
        expect(plan(32, 64, 2048)).toMatchObject({ chunk: 1024 });
        expect(plan(16, 128)).toBeUndefined();
        expect(plan(8, 256)).toBeUndefined();
        expect(plan(4, 512)).toBeUndefined();
        expect(gridPlan(tf.backend_util.computeConv2DInfo([64, 32, 32, 16], [1, 1, 16, 96], 1, 1, 'valid'))).toBeUndefined();
      } finally {
        setGridLimits(forced);
      }
    });
  });

  it('onnxruntime refused no graph', () => {
    expect([...ortRejections()].filter(([k]) => !k.startsWith('test:'))).toEqual([]);
  });
});

describe('onnxruntime matrix products vs the cpu backend', () => {
  const cases: Array<{ a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }> = [
    { a: [1, 5, 7], b: [1, 7, 3], transposeA: false, transposeB: false },
    { a: [1, 7, 5], b: [1, 7, 3], transposeA: true, transposeB: false },
    { a: [1, 5, 7], b: [1, 3, 7], transposeA: false, transposeB: true },
    { a: [1, 7, 5], b: [1, 3, 7], transposeA: true, transposeB: true },
    { a: [4, 5, 6], b: [4, 6, 2], transposeA: false, transposeB: false },
    { a: [4, 6, 5], b: [1, 6, 2], transposeA: true, transposeB: false }, // broadcast b
    { a: [1, 5, 6], b: [3, 2, 6], transposeA: false, transposeB: true }, // broadcast a
    // What tf.matMul hands the kernel as it is: a Linear layer's rank 2, attention's rank 4.
    { a: [5, 7], b: [7, 3], transposeA: false, transposeB: false },
    { a: [7, 5], b: [3, 7], transposeA: true, transposeB: true },
    { a: [2, 3, 5, 4], b: [2, 3, 4, 6], transposeA: false, transposeB: false },
    { a: [2, 3, 5, 4], b: [2, 3, 6, 4], transposeA: false, transposeB: true },
    { a: [2, 3, 5, 4], b: [4, 6], transposeA: false, transposeB: false }, // broadcast b
    { a: [5, 4], b: [1, 2, 4, 6], transposeA: false, transposeB: false }, // broadcast a, output [1, 2, 5, 6]
  ];
  cases.forEach((c, i) => {
    it(`BatchMatMul ${c.a} x ${c.b} tA=${c.transposeA} tB=${c.transposeB}`, async () => {
      const fell = await fallbacksDuring(() => compareWithCpu('BatchMatMul', { a: { shape: c.a }, b: { shape: c.b } }, { transposeA: c.transposeA, transposeB: c.transposeB }, 800 + i));
      expect(fell).toEqual({});
    });
  });

  const biases = [[3], [1, 3], [5, 3], [1, 1, 3]];
  biases.forEach((bias, i) => {
    for (const activation of ['linear', 'relu']) {
      it(`_FusedMatMul bias ${bias} ${activation}`, async () => {
        const fell = await fallbacksDuring(() => compareWithCpu('_FusedMatMul', { a: { shape: [1, 5, 7] }, b: { shape: [1, 3, 7] }, bias: { shape: bias } }, { transposeA: false, transposeB: true, activation }, 900 + i));
        expect(fell).toEqual({});
      });
    }
  });

  it('a broadcast of leading dimensions other than one matrix against many falls back and matches', async () => {
    const fell = await fallbacksDuring(() => compareWithCpu('BatchMatMul', { a: { shape: [2, 1, 5, 4] }, b: { shape: [1, 3, 4, 6] } }, { transposeA: false, transposeB: false }, 860));
    expect(fell).toEqual({ BatchMatMul: 1 });
  });

  it('_FusedMatMul of rank 2 (a Linear layer) with bias and relu', async () => {
    const fell = await fallbacksDuring(() => compareWithCpu('_FusedMatMul', { a: { shape: [6, 7] }, b: { shape: [3, 7] }, bias: { shape: [3] } }, { transposeA: false, transposeB: true, activation: 'relu' }, 940));
    expect(fell).toEqual({});
  });

  it('_FusedMatMul on a batch, with bias', async () => {
    await compareWithCpu('_FusedMatMul', { a: { shape: [3, 4, 5] }, b: { shape: [3, 5, 6] }, bias: { shape: [6] } }, { transposeA: false, transposeB: false, activation: 'relu' }, 950);
  });
});

describe('onnxruntime transposes vs the cpu backend', () => {
  const cases: Array<{ shape: number[]; perm: number[]; onOrt: boolean }> = [
    { shape: [4, 17, 3, 6, 32], perm: [2, 0, 3, 1, 4], onOrt: true }, // attention's q, k, v split
    { shape: [4, 6, 17, 48], perm: [0, 2, 1, 3], onOrt: true },
    { shape: [130, 384], perm: [1, 0], onOrt: true },
    { shape: [2, 9, 9, 256], perm: [3, 1, 2, 0], onOrt: true },
    { shape: [3, 5, 7], perm: [2, 0, 1], onOrt: false }, // small: the wasm kernel
  ];
  cases.forEach((c, i) => {
    it(`Transpose ${c.shape} by ${c.perm}${c.onOrt ? '' : ' (small, on wasm)'}`, async () => {
      const fell = await fallbacksDuring(() => compareWithCpu('Transpose', { x: { shape: c.shape } }, { perm: c.perm }, 1800 + i));
      expect(fell).toEqual(c.onOrt ? {} : { Transpose: 1 });
    });
  });
});

describe('onnxruntime sums vs the cpu backend', () => {
  const cases: Array<{ shape: number[]; axis: number | number[]; keepDims: boolean; onOrt: boolean }> = [
    { shape: [260, 384], axis: 0, keepDims: false, onOrt: true }, // a Linear layer's bias gradient
    { shape: [4, 6, 17, 48], axis: -1, keepDims: true, onOrt: true }, // the softmax gradient's row sums
    { shape: [8, 9, 9, 32], axis: [0, 1, 2], keepDims: false, onOrt: true },
    { shape: [8, 9, 9, 32], axis: [1, 3], keepDims: true, onOrt: true },
    { shape: [64, 300], axis: [0, 1], keepDims: false, onOrt: true },
    { shape: [30, 7], axis: 0, keepDims: false, onOrt: false }, // small: the wasm kernel
  ];
  cases.forEach((c, i) => {
    it(`Sum of ${c.shape} over ${JSON.stringify(c.axis)} keepDims ${c.keepDims}${c.onOrt ? '' : ' (small, on wasm)'}`, async () => {
      const fell = await fallbacksDuring(() => compareWithCpu('Sum', { x: { shape: c.shape } }, { axis: c.axis, keepDims: c.keepDims }, 1900 + i));
      expect(fell).toEqual(c.onOrt ? {} : { Sum: 1 });
    });
  });
});

describe('gradients through tf ops on wasm-ort', () => {
  it('tf.grads of a conv + dense net equal the cpu backend', async () => {
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
        const x = rnd([3, 9, 9, 2], 1);
        const w1 = rnd([3, 3, 2, 4], 2);
        const w2 = rnd([1, 1, 4, 6], 3);
        const d = rnd([6 * 5 * 5, 3], 4);
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, e: tf.Tensor) => {
          const h = tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'));
          const g = tf.conv2d(h, c as tf.Tensor4D, 2, 'same');
          return tf.sum(tf.square(tf.matMul(tf.reshape(g, [3, -1]), e as tf.Tensor2D)));
        };
        return tf.grads(f)([x, w1, w2, d]).map((g) => Float32Array.from(g.dataSync()));
      });
    };
    const expected = await grads('cpu');
    const actual = await grads('wasm');
    for (let i = 0; i < expected.length; i++) {
      const { diff, scale } = maxAbsDiff(actual[i], expected[i]);
      expect(diff, `gradient ${i}`).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
    }
  });
});

describe('a run-time failure inside onnxruntime', () => {
  it('falls back to the kernel below, rejects that signature and stays correct', async () => {
    await tf.setBackend('wasm');
    // A session whose graph loads but fails when run (a Reshape to an impossible shape), planted
    // under the key the Conv2D kernel will look up.
    const x = { shape: [1, 5, 5, 2] };
    const filter = { shape: [3, 3, 2, 3] };
    const info = tf.backend_util.computeConv2DInfo([1, 5, 5, 2], [3, 3, 2, 3], 1, 1, 'valid');
    const key = `Conv2D:${[`${info.inShape.join('x')},${info.outShape.join('x')}`, 3, 3, 1, 1, 1, 1, 0, 0, 'channelsLast', 0].join(':')}`;
    ortOp(key, () => ({
      name: 'broken',
      nodes: [{ op: 'Reshape', inputs: ['x', 'bad_shape'], outputs: ['y'] }],
      initializers: [{ name: 'bad_shape', type: OnnxType.INT64, dims: [1], values: [7] }],
      inputs: [
        { name: 'x', type: OnnxType.FLOAT, shape: info.inShape },
        { name: 'filter', type: OnnxType.FLOAT, shape: [3, 3, 2, 3] },
      ],
      outputs: [{ name: 'y', type: OnnxType.FLOAT, shape: info.outShape }],
    }));
    const before = tf.memory().numTensors;
    const fell = await fallbacksDuring(() => compareWithCpu('Conv2D', { x, filter }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 }, 1000));
    expect(fell).toEqual({ Conv2D: 1 });
    expect(ortRejections().get(key)).toBeTruthy();
    expect(tf.memory().numTensors).toBe(before);
  });
});
