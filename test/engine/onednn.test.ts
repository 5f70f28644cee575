/**
 * wasm-ort's convolutions on oneDNN (packages/onednn, src/engine/onednn.ts) against the cpu
 * backend: the forward pass and both gradients over the convolution grid (strides, paddings
 * asymmetric and wider than the kernel, leftover rows, 1x1 outputs, both layouts), dilations, and
 * channel counts where oneDNN takes its vector kernels; each counted, so a silent fall back to
 * onnxruntime cannot pass. Skipped only where oneDNN's development files are not installed
 * (scripts/setup-test-env.sh installs them).
 *
 * Tolerance: max |onednn - cpu| <= 2e-5 * max(1, max |cpu|), as for the onnxruntime kernels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { installKernels, WASM_TRAINING_KERNELS } from '../../src/engine/kernels';
import { ORT_KERNELS } from '../../src/engine/ort/kernels';
import { onednnRejections, onednnStats } from '../../src/engine/ort/kernels/conv2d';
import { activateOnednn, buildOnednn, deactivateOnednn, onednn, onednnAvailability, onednnParams, ConvPass } from '../../src/engine/onednn';
import { ensureGradients } from '../../src/engine/gradients';
import { initEngine } from '../../src/engine';
import { maxAbsDiff, runKernelOn, type InputSpec } from './kernelHarness';
import { CONV_CASES, convOutShape, padIn, toFormat, type ConvCase } from './cases';
import { cvw } from '../helpers/cvw';

const TOLERANCE = 2e-5;
const skip = !onednnAvailability().installed;

async function compareWithCpu(kernel: string, inputs: Record<string, InputSpec>, attrs: Record<string, unknown>, seed: number): Promise<void> {
  const expected = await runKernelOn('cpu', kernel, inputs, attrs, seed);
  const runs = onednnStats.runs;
  const actual = await runKernelOn('wasm', kernel, inputs, attrs, seed);
  expect(onednnStats.runs, `${kernel} ran on oneDNN`).toBe(runs + 1);
  expect(actual.shape).toEqual(expected.shape);
  const { diff, scale } = maxAbsDiff(actual.values, expected.values);
  expect(diff, `${kernel} ${JSON.stringify(attrs)}`).toBeLessThanOrEqual(TOLERANCE * Math.max(1, scale));
}

// Channel counts of ResNet's layers (blocked kernels), 1x1 shortcuts, a stem of 3 channels.
const WIDE_CASES: ConvCase[] = [
  { x: [2, 8, 8, 64], filter: [3, 3], outChannels: 64, strides: 1, pad: 'same' },
  { x: [2, 8, 8, 64], filter: [3, 3], outChannels: 128, strides: 2, pad: 'same' },
  { x: [2, 8, 8, 64], filter: [1, 1], outChannels: 128, strides: 2, pad: 'valid' },
  { x: [3, 9, 9, 3], filter: [3, 3], outChannels: 32, strides: 1, pad: 'same' },
  { x: [2, 4, 4, 48], filter: [3, 3], outChannels: 40, strides: 1, pad: 'same' },
];

describe.skipIf(skip)('oneDNN convolutions vs the cpu backend', () => {
  beforeAll(async () => {
    buildOnednn();
    ensureGradients();
    await tf.setBackend('wasm');
    installKernels(WASM_TRAINING_KERNELS);
    installKernels(ORT_KERNELS);
    activateOnednn(2);
    expect(onednn()).toBeDefined();
  }, 120_000);
  afterAll(() => deactivateOnednn());

  for (const format of ['NHWC', 'NCHW'] as const) {
    [...CONV_CASES, ...WIDE_CASES].forEach((c, i) => {
      const label = `${format} x ${c.x} filter ${c.filter} -> ${c.outChannels} strides ${c.strides} pad ${JSON.stringify(c.pad)} ${c.dimRoundingMode ?? ''}`;
      const filterShape = [c.filter[0], c.filter[1], c.x[3], c.outChannels];
      const common = { strides: c.strides, pad: padIn(c.pad, format), dataFormat: format, dimRoundingMode: c.dimRoundingMode };
      it(`Conv2D ${label}`, async () => {
        await compareWithCpu('Conv2D', { x: { shape: toFormat(c.x, format) }, filter: { shape: filterShape } }, { ...common, dilations: 1 }, 2400 + i);
      });
      it(`Conv2DBackpropInput ${label}`, async () => {
        await compareWithCpu('Conv2DBackpropInput', { dy: { shape: convOutShape(c, format) }, filter: { shape: filterShape } }, { ...common, inputShape: toFormat(c.x, format) }, 2500 + i);
      });
      it(`Conv2DBackpropFilter ${label}`, async () => {
        await compareWithCpu('Conv2DBackpropFilter', { x: { shape: toFormat(c.x, format) }, dy: { shape: convOutShape(c, format) } }, { ...common, filterShape }, 2600 + i);
      });
    });
  }

  it('runs dilated forward convolutions', async () => {
    for (const [i, dilations] of [2, [2, 3]].entries()) {
      await compareWithCpu('Conv2D', { x: { shape: [2, 11, 10, 16] }, filter: { shape: [3, 3, 16, 8] } }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations }, 2700 + i);
    }
  });

  it('refused no signature', () => {
    expect([...onednnRejections()]).toEqual([]);
  });

  it('says what it ran on and refuses arrays of the wrong size with a clear error', () => {
    const info = tf.backend_util.computeConv2DInfo([2, 8, 8, 64], [3, 3, 64, 64], 1, 1, 'same');
    expect(onednn()!.impl(ConvPass.Forward, onednnParams(info))).toMatch(/avx|sse|gemm|ref/);
    const x = new Float32Array(2 * 8 * 8 * 64);
    expect(() => onednn()!.conv(ConvPass.Forward, onednnParams(info), x, new Float32Array(10), x)).toThrow(/array sizes 8192, 10, 8192 do not match the convolution's 8192, 36864, 8192/);
  });

  it('`cvw env --build-onednn` builds it (here: finds it built) and reports it in use', async () => {
    const r = await cvw('env', '--build-onednn');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\noneDNN: {6}\+ oneDNN 2\.\d+\.\d+ \(\w+\) runs wasm-ort's convolutions\n/);
    expect(r.out).toMatch(/^wasm-ort on CPU: .*oneDNN 2\.\d+\.\d+/);
  });

  it('names oneDNN on the engine line of wasm-ort, and CVW_ONEDNN=0 keeps convolutions on onnxruntime', async () => {
    const report = await initEngine({ backend: 'wasm-ort', threads: 2 });
    expect(report.summary).toMatch(/oneDNN 2\.\d+\.\d+ \(\w+\)/);
    process.env.CVW_ONEDNN = '0';
    try {
      const off = await initEngine({ backend: 'wasm-ort', threads: 2 });
      expect(off.versions.oneDNN).toBeUndefined();
      expect(onednn()).toBeUndefined();
    } finally {
      delete process.env.CVW_ONEDNN;
      await initEngine({ backend: 'wasm-ort', threads: 2 });
    }
    expect(onednn()).toBeDefined();
  });
});
