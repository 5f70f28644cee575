/**
 * ONNX export of every backbone: the reference checker (python3-onnx) accepts the model, and
 * onnxruntime-node's outputs match the toolkit's own within 1e-4 on real images (the RGB sample
 * images and Fashion-MNIST test images), with the batch-norm statistics randomised so that
 * folding them into the convolutions is really exercised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { exportModel } from '../../src/export/exportModel';
import { ensureBackend } from '../../src/export/source';
import { readOnnxModelInfo } from '../../src/export/onnx/readModel';
import { toOnnx } from '../../src/export/onnx';
import { traceModel } from '../../src/export/trace';
import * as tf from '@tensorflow/tfjs-core';
import { tempFiles } from '../helpers/tmp';
import { FASHION_DATA, fashionImages, imagesData, makeRun, maxAbsDiff, onnxCheck, preparedBatch, runOnnx, sampleImages, toolkitOutputs } from './helpers';

const tmp = tempFiles({});
beforeAll(async () => {
  await ensureBackend('wasm');
});
afterAll(() => tmp.cleanup());

interface Case {
  name: string;
  backbone: string;
  data: 'rgb' | 'grey';
  layout?: 'NCHW' | 'NHWC';
}

const CASES: Case[] = [
  { name: 'ResNet-18', backbone: '{ type: ResNet, depth: 18 }', data: 'rgb' },
  // Half width keeps the file at 24 MB; the graph (bottlenecks, strided 3x3, projections) is ResNet-50's.
  { name: 'ResNet-50 at half width (NHWC input)', backbone: '{ type: ResNet, depth: 50, base_width: 32 }', data: 'rgb', layout: 'NHWC' },
  { name: 'ResNet-18, CIFAR stem, grey', backbone: '{ type: ResNet, depth: 18, stem: cifar, in_channels: 1, base_width: 16 }', data: 'grey' },
  { name: 'MobileNetV2', backbone: '{ type: MobileNetV2 }', data: 'rgb' },
  { name: 'MobileNetV2, grey', backbone: '{ type: MobileNetV2, width_mult: 0.5, stem_stride: 1, in_channels: 1 }', data: 'grey' },
  { name: 'VisionTransformer (tiny)', backbone: '{ type: VisionTransformer, arch: tiny, img_size: 56, patch_size: 8 }', data: 'rgb' },
  { name: 'VisionTransformer, mean-pooled, grey', backbone: '{ type: VisionTransformer, arch: custom, embed_dim: 64, depth: 3, num_heads: 4, img_size: 28, patch_size: 4, in_channels: 1, output: avg_pool }', data: 'grey' },
  { name: 'SwinTransformer', backbone: '{ type: SwinTransformer, arch: custom, embed_dim: 48, depths: [2, 2, 2], num_heads: [3, 6, 12], window_size: 7, patch_size: 2 }', data: 'rgb' },
  { name: 'ConvNeXt', backbone: '{ type: ConvNeXt, arch: custom, depths: [1, 1, 2, 1], dims: [16, 32, 64, 128], layer_scale_init_value: 1 }', data: 'rgb' },
  { name: 'ConvNeXt V2 (GRN), grey', backbone: '{ type: ConvNeXt, arch: custom, depths: [1, 1], dims: [8, 16], patch_size: 2, use_grn: true, in_channels: 1 }', data: 'grey' },
];

describe.each(CASES)('ONNX export: $name', (c) => {
  it('passes the ONNX checker and matches the toolkit within 1e-4 on real images', async () => {
    const dir = path.join(tmp.dir, c.name.replace(/\W+/g, '_'));
    const classes = c.data === 'rgb' ? 3 : 10;
    const data = c.data === 'rgb' ? imagesData(56) : FASHION_DATA;
    const model = makeRun(dir, `model: { type: Classification, backbone: ${c.backbone}, head: { type: ClsHead, num_classes: ${classes} } }\n${data}`);
    const out = path.join(dir, 'model.onnx');
    const result = await exportModel(path.join(dir, 'run'), { format: 'onnx', out, layout: c.layout, verify: false });
    expect(result.metadata.input).toMatchObject({ layout: c.layout ?? 'NCHW', batch: 'dynamic', channels: c.data === 'rgb' ? 3 : 1, height: c.data === 'rgb' ? 56 : 28 });
    expect(result.metadata.classes).toHaveLength(classes);
    expect(onnxCheck(out)).toBe('');

    const images = c.data === 'rgb' ? sampleImages() : await fashionImages(8);
    const batch = await preparedBatch(result.metadata, images);
    const expected = toolkitOutputs(model, batch);
    const got = await runOnnx(out, batch.data, batch.shape, c.layout ?? 'NCHW');
    expect(maxAbsDiff(got.logits, expected.logits)).toBeLessThan(1e-4);
    expect(maxAbsDiff(got.features, expected.features)).toBeLessThan(1e-4);
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
    // Full-size weights: initialising, writing and checking tens of MB takes a while on 2 cores.
  }, 240_000);
});

describe('ONNX export details', () => {
  it('keeps class names and pre-processing in metadata_props, and folds batch norms into the convolutions', async () => {
    const dir = path.join(tmp.dir, 'meta');
    const model = makeRun(dir, `model: { type: Classification, backbone: { type: ResNet, depth: 18, base_width: 8 }, head: { type: ClsHead, num_classes: 3 } }\n${imagesData(32)}`);
    const result = await exportModel(path.join(dir, 'run'), { format: 'onnx' });
    expect(result.path).toBe(path.join(dir, 'run', 'export', 'model.onnx'));
    expect(result.verified!.maxAbsDiff).toBeLessThan(1e-4);
    const info = readOnnxModelInfo(fs.readFileSync(result.path), result.path);
    const meta = JSON.parse(info.metadata.cvw);
    expect(meta.classes).toEqual(['bag', 't-shirt', 'trouser']);
    expect(meta.preprocess.steps.map((s: { type: string }) => s.type)).toEqual(['Resize', 'CenterCrop', 'ToTensor', 'Normalize']);
    expect(meta.source.weights).toBe('model');
    // 20 convolutions, no separate batch-norm Mul/Add left; the stem's -inf Pad became MaxPool padding.
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const ops = spawnSync('/usr/bin/python3', ['-c', 'import sys, onnx, collections; m = onnx.load(sys.argv[1]); print(dict(collections.Counter(n.op_type for n in m.graph.node)))', result.path], { encoding: 'utf8' }).stdout;
    expect(ops).toContain("'Conv': 20");
    expect(ops).not.toContain("'Mul'");
    expect(ops).not.toContain("'Pad'");
    model.dispose();
  });

  it('prefers the EMA weights of a run that kept them', async () => {
    const dir = path.join(tmp.dir, 'ema');
    makeRun(dir, `model: { type: Classification, backbone: { type: ResNet, depth: 18, base_width: 8, stem: cifar }, head: { type: ClsHead, num_classes: 3 } }\n${imagesData(16)}`, { ema: true });
    const result = await exportModel(path.join(dir, 'run'), { format: 'onnx', out: path.join(dir, 'm.onnx') });
    expect(result.metadata.source!.weights).toBe('ema');
    // The export's self-check ran the EMA model in the toolkit too.
    expect(result.verified!.maxAbsDiff).toBeLessThan(1e-4);
  });

  it('puts resize and normalisation in the graph with --with-preprocess: raw pixels of any size in', async () => {
    const dir = path.join(tmp.dir, 'pre');
    makeRun(dir, `model: { type: Classification, backbone: { type: MobileNetV2, width_mult: 0.35 }, head: { type: ClsHead, num_classes: 3 } }\n${imagesData(48)}`);
    const out = path.join(dir, 'pre.onnx');
    const result = await exportModel(path.join(dir, 'run'), { format: 'onnx', out, withPreprocess: true });
    expect(result.metadata.preprocess).toMatchObject({ in_graph: true, steps: [], scale: 1 / 255, mean: [0.5, 0.45, 0.4], std: [0.25, 0.22, 0.2] });
    // The graph stretches; the pipeline (Resize 48 = shorter side, CenterCrop 48) crops: the export says so.
    expect(result.notes).toContainEqual(expect.stringContaining('the graph stretches the whole image to 48x48, while the evaluation pipeline (Resize 48, CenterCrop 48) keeps the aspect ratio and crops the centre'));
    // Verified on random 0-255 images of another size (97x55) than the network's (48x48).
    expect(result.verified!.maxAbsDiff).toBeLessThan(1e-4);
    expect(onnxCheck(out)).toBe('');
    const ops = require('node:child_process').spawnSync('/usr/bin/python3', ['-c', 'import sys, onnx; m = onnx.load(sys.argv[1]); print([d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim])', out], { encoding: 'utf8' }).stdout;
    expect(ops.trim()).toBe("['N', 3, 'height', 'width']");
  });

  it('names the kernel when a model uses one without an ONNX translation', async () => {
    const { graph } = traceModel((x: tf.Tensor) => ({ y: tf.cumsum(x, 1) }), { imageShape: [4, 4, 1] });
    expect(() => toOnnx(graph)).toThrow('export to ONNX: the model uses TensorFlow.js kernel(s) Cumsum, which have no ONNX translation yet (src/export/onnx/kernels/)');
  });
});
