/**
 * The tracer and both translators on their own: batch-dependent integers found from two traces,
 * constant folding, merging of repeated work, fusion, the fallback to a fixed batch, and a
 * "kitchen sink" of kernels whose ONNX and TF.js translations must match TensorFlow.js at a batch
 * size that was never traced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import '../../src/builtins';
import { traceModel, type TraceGraph } from '../../src/export/trace';
import { toOnnx } from '../../src/export/onnx';
import { afterRemovingAxes, afterTranspose, transposeData } from '../../src/export/onnx/layout';
import { toTfjs, writeTfjs } from '../../src/export/tfjs';
import { readTfjsArtifacts } from '../../src/export/tfjs/load';
import { encodeModel } from '../../src/engine/ort/onnxModel';
import { ensureBackend } from '../../src/export/source';
import { BatchNorm, Conv2d } from '../../src/models/nn';
import { tempFiles } from '../helpers/tmp';
import { maxAbsDiff, onnxCheck, runOnnx } from './helpers';

const tmp = tempFiles({});
beforeAll(async () => {
  await ensureBackend('wasm');
});
afterAll(() => tmp.cleanup());

const kernels = (g: TraceGraph) => g.nodes.map((n) => n.kernel);

describe('tracing', () => {
  it('turns sizes that grow with the batch into a * N + c', () => {
    const { graph, fixedBatchReason } = traceModel((x) => ({ y: tf.tile(tf.reshape(x, [x.shape[0] * 4, -1]), [1, 2]) }), { imageShape: [2, 2, 3] });
    expect(fixedBatchReason).toBeUndefined();
    expect(graph.dynamicBatch).toBe(true);
    expect(graph.nodes[0].attrs.shape).toEqual([{ a: 4, c: 0 }, -1]);
    expect(graph.values[graph.nodes[1].outputs[0]].shape).toEqual([{ a: 4, c: 0 }, 6]);
  });

  it('folds what depends only on weights (a batch norm in eval mode becomes a fused scale and bias)', () => {
    const conv = new Conv2d(3, 4, 3);
    const bn = new BatchNorm(4).eval();
    const { graph } = traceModel((x) => ({ y: tf.relu(bn.forward(conv.forward(x as tf.Tensor4D))) }), { imageShape: [5, 5, 3] });
    expect(kernels(graph)).toEqual(['FusedConv2D']);
    expect(graph.nodes[0].attrs.activation).toBe('relu');
    const { graph: plain } = traceModel((x) => ({ y: tf.relu(bn.forward(conv.forward(x as tf.Tensor4D))) }), { imageShape: [5, 5, 3], fuse: false });
    expect(kernels(plain)).toEqual(['Conv2D', 'Multiply', 'Add', 'Relu']);
  });

  it('merges repeated work and drops what no output needs', () => {
    const { graph } = traceModel(
      (x) => {
        void tf.exp(x);
        return { a: tf.sigmoid(tf.mean(x, [1, 2])), b: tf.tanh(tf.mean(x, [1, 2])) };
      },
      { imageShape: [3, 3, 2] },
    );
    expect(kernels(graph)).toEqual(['Mean', 'Sigmoid', 'Tanh']);
  });

  it('falls back to a fixed batch of 1, saying why, when a constant is made from the batch size', () => {
    const { graph, fixedBatchReason } = traceModel((x) => ({ y: tf.add(x, tf.tensor(new Float32Array(x.shape[0]).fill(1), [x.shape[0], 1, 1, 1])) }), { imageShape: [2, 2, 1] });
    expect(graph.dynamicBatch).toBe(false);
    expect(graph.input.shape).toEqual([1, 2, 2, 1]);
    expect(fixedBatchReason).toBe('a constant tensor of shape [2,1,1,1] differs between batch 2 and 3 (made outside TensorFlow.js kernels from the batch size, e.g. with tf.tensor or tf.zeros)');
  });
});

describe('layouts', () => {
  it('transposes data like tf.transpose, and composes lazy transposes', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i);
    const t = transposeData(data, [2, 3, 4], [2, 0, 1]);
    expect(t.shape).toEqual([4, 2, 3]);
    expect(Array.from(t.data)).toEqual(Array.from(tf.transpose(tf.tensor(data, [2, 3, 4]), [2, 0, 1]).dataSync()));
    // An NCHW-laid-out value transposed NHWC -> NCHW in tfjs is already in order: no ONNX Transpose.
    expect(afterTranspose([0, 3, 1, 2], [0, 3, 1, 2])).toBeNull();
    expect(afterTranspose([0, 3, 1, 2], [0, 2, 3, 1])).toEqual([0, 2, 3, 1]);
    expect(afterRemovingAxes([0, 3, 1, 2], 4, [1, 2])).toBeNull();
  });
});

/** Many kernels in one model; every output float32 except the arg-max indices. */
function kitchenSink(x: tf.Tensor): Record<string, tf.Tensor> {
  const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 0.5, 'float32', seed);
  const w = rnd([3, 3, 3, 8], 1);
  const dw = rnd([3, 3, 8, 2], 2);
  const img = x as tf.Tensor4D;
  let y: tf.Tensor4D = tf.conv2d(img, w as tf.Tensor4D, 2, 'same');
  y = tf.leakyRelu(tf.add(y, rnd([8], 3)), 0.1) as tf.Tensor4D;
  const d = tf.depthwiseConv2d(y, dw as tf.Tensor4D, 1, 'same');
  const pooled = tf.avgPool(tf.elu(d), 2, 2, 'same');
  const maxed = tf.maxPool(tf.pad(d, [[0, 0], [1, 1], [1, 1], [0, 0]], -1e9), 3, 2, 'valid');
  const mirrored = tf.mirrorPad(tf.sigmoid(pooled), [[0, 0], [1, 1], [1, 1], [0, 0]], 'reflect');
  const up = tf.image.resizeNearestNeighbor(tf.image.resizeBilinear(maxed, [6, 7], false, true), [5, 5], false, true);
  const [p1, p2] = tf.split(tf.concat([up, tf.slice(mirrored, [0, 0, 0, 0], [-1, 5, 5, -1])], 3), [10, 22], 3);
  const tokens = tf.reshape(tf.transpose(p2, [0, 3, 1, 2]), [x.shape[0], 22, 25]);
  const attn = tf.softmax(tf.matMul(tokens, tokens, false, true));
  const mixed = tf.matMul(attn, tokens);
  const [first, second] = tf.unstack(tf.reshape(mixed, [x.shape[0], 2, 11, 25]), 1);
  const stacked = tf.stack([tf.maximum(first, second), tf.minimum(first, second)], 1);
  const gathered = tf.gather(stacked, tf.tensor1d([1, 0, 1], 'int32'), 2);
  const ss = tf.stridedSlice(gathered, [0, 0, 0, 1], [0, 2, 3, 24], [1, 1, 1, 2], 1, 1);
  const s = tf.squeeze(tf.expandDims(tf.sum(tf.abs(ss), [2, 3], true), 0), [0]);
  const sel = tf.where(tf.greater(p1, 0), tf.sqrt(tf.add(tf.square(p1), 1)), tf.neg(tf.exp(tf.clipByValue(p1, -3, 3))));
  const stats = tf.concat([tf.max(sel, [1, 2]), tf.min(sel, [1, 2]), tf.mean(tf.log(tf.add(tf.abs(sel), 1)), [1, 2])], 1);
  const prelu = tf.prelu(stats, tf.fill([30], 0.3));
  return {
    stats: tf.tanh(tf.div(prelu, tf.add(tf.sum(tf.reshape(s, [x.shape[0], 2]), 1, true), 1))),
    argmax: tf.argMax(stats, 1),
    rsq: tf.rsqrt(tf.add(tf.squaredDifference(ss, tf.mean(ss)), 0.5)),
  };
}

describe('translators', () => {
  const shape: [number, number, number, number] = [4, 10, 10, 3];
  const x = () => tf.randomUniform(shape, -1, 1, 'float32', 99);

  it('ONNX: the checker passes and onnxruntime matches TensorFlow.js at an untraced batch size', async () => {
    const { graph, fixedBatchReason } = traceModel(kitchenSink, { imageShape: [10, 10, 3] });
    expect(fixedBatchReason).toBeUndefined();
    const expected = tf.tidy(() => Object.fromEntries(Object.entries(kitchenSink(x())).map(([k, v]) => [k, Array.from(v.dataSync())])));
    for (const layout of ['NCHW', 'NHWC'] as const) {
      const file = path.join(tmp.dir, `sink-${layout}.onnx`);
      fs.writeFileSync(file, encodeModel(toOnnx(graph, { layout })));
      expect(onnxCheck(file)).toBe('');
      const input = x();
      const got = await runOnnx(file, input.dataSync() as Float32Array, shape, layout);
      input.dispose();
      for (const k of ['stats', 'rsq']) expect(maxAbsDiff(got[k], expected[k])).toBeLessThan(1e-4);
      expect(Array.from(got.argmax)).toEqual(expected.argmax);
    }
  });

  it('TF.js: the graph model matches TensorFlow.js at an untraced batch size', async () => {
    const { graph } = traceModel(kitchenSink, { imageShape: [10, 10, 3] });
    const dir = path.join(tmp.dir, 'sink-tfjs');
    writeTfjs(dir, toTfjs(graph, { producer: 'test' }));
    const model = await loadGraphModel(tf.io.fromMemory(readTfjsArtifacts(dir)));
    const input = x();
    const outs = model.execute({ images: input }, ['stats', 'argmax', 'rsq']) as tf.Tensor[];
    const expected = kitchenSink(input);
    expect(maxAbsDiff(outs[0].dataSync(), expected.stats.dataSync())).toBeLessThan(1e-4);
    expect(Array.from(outs[1].dataSync())).toEqual(Array.from(expected.argmax.dataSync()));
    expect(maxAbsDiff(outs[2].dataSync(), expected.rsq.dataSync())).toBeLessThan(1e-4);
  });
});
