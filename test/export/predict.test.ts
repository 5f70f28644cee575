/**
 * Predictors on real images: the same answers from an .onnx file (onnxruntime-node), a TF.js
 * export and the run itself; file paths, Buffers and decoded pixels alike; batching; bad inputs
 * reported with the file's name; retrieval by cosine similarity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { exportModel } from '../../src/export/exportModel';
import * as tf from '@tensorflow/tfjs-core';
import { Classifier, FeatureExtractor, softmax, type Classification } from '../../src/export/predict';
import { traceModel } from '../../src/export/trace';
import { toOnnx } from '../../src/export/onnx';
import { encodeModel } from '../../src/engine/ort/onnxModel';
import { randomFor } from '../../src/core/random';
import type { PipelineStep } from '../../src/data/pipeline';
import { buildIndex, listImages, nearest, retrieve } from '../../src/export/retrieve';
import { ensureBackend } from '../../src/export/source';
import { loadSharp } from '../../src/data/decode';
import { tempFiles } from '../helpers/tmp';
import { FASHION_DATA, IMAGES, imagesData, makeRun, sampleImages } from './helpers';

const tmp = tempFiles({ 'not-an-image.jpg': 'hello', 'garbage.onnx': 'not a model at all', 'empty/readme.txt': 'x' });
const run = path.join(tmp.dir, 'cls', 'run');
const onnx = path.join(tmp.dir, 'cls.onnx');
const tfjsDir = path.join(tmp.dir, 'cls-tfjs');
const images = sampleImages();

beforeAll(async () => {
  await ensureBackend('wasm');
  makeRun(path.join(tmp.dir, 'cls'), `model: { type: Classification, backbone: { type: ResNet, depth: 18, base_width: 8 }, head: { type: ClsHead, num_classes: 3 } }\n${imagesData(32)}`).dispose();
  await exportModel(run, { format: 'onnx', out: onnx, verify: false });
  await exportModel(run, { format: 'tfjs', out: tfjsDir, verify: false });
});
afterAll(() => tmp.cleanup());

function expectSame(a: Classification[], b: Classification[]): void {
  expect(a.map((r) => r.topk.map((t) => t.name))).toEqual(b.map((r) => r.topk.map((t) => t.name)));
  a.forEach((r, i) => r.topk.forEach((t, k) => expect(Math.abs(t.score - b[i].topk[k].score)).toBeLessThan(1e-4)));
}

describe('Classifier', () => {
  let reference: Classification[];

  it('gives top-k names and softmax scores on onnxruntime-node', async () => {
    const clf = new Classifier(onnx, { topk: 3 });
    reference = await clf.predict(images);
    expect(reference).toHaveLength(12);
    for (const r of reference) {
      expect(r.topk).toHaveLength(3);
      expect(r.topk.map((t) => t.name).sort()).toEqual(['bag', 't-shirt', 'trouser']);
      expect(r.topk.reduce((s, t) => s + t.score, 0)).toBeCloseTo(1, 5);
      expect(r.topk[0].score).toBeGreaterThanOrEqual(r.topk[1].score);
      expect(r).toMatchObject({ label: r.topk[0].label, name: r.topk[0].name, score: r.topk[0].score });
    }
    await clf.dispose();
  });

  it('answers the same from the TF.js export and from the run directory itself', async () => {
    for (const model of [tfjsDir, run, path.join(run, 'checkpoints', 'best.safetensors')]) {
      const clf = new Classifier(model, { topk: 3 });
      expectSame(await clf.predict(images), reference);
      await clf.dispose();
    }
  });

  it("device: gpu runs on onnxruntime's WebGPU provider, or on the CPU with a note saying why — the same answers either way", async () => {
    const clf = new Classifier(onnx, { topk: 3, device: 'gpu' });
    expectSame(await clf.predict(images), reference);
    const where = await clf.device();
    // Here Mesa gives onnxruntime's own Dawn no adapter; on a GPU machine it runs there, without a note.
    if (where.device === 'cpu') expect(where.note).toMatch(/^GPU inference unavailable \(onnxruntime's WebGPU provider: .+\); running on the CPU$/);
    else expect(where.note).toBeUndefined();
    await clf.dispose();
    const tfjs = new Classifier(tfjsDir, { topk: 3, device: 'gpu' });
    expectSame(await tfjs.predict(images.slice(0, 2)), reference.slice(0, 2));
    expect(await tfjs.device()).toEqual({ device: 'cpu', note: expect.stringMatching(/^GPU inference runs ONNX models .* a TF\.js graph model, run on the CPU — export it with `cvw export` for the GPU$/) });
    await tfjs.dispose();
    const cpu = new Classifier(onnx);
    expect(await cpu.device()).toEqual({ device: 'cpu' });
    await cpu.dispose();
  });

  it('takes Buffers and decoded RGB pixels as well as paths, one or many, in batches of any size', async () => {
    const clf = new Classifier(onnx, { topk: 3, batchSize: 5 });
    const buffers = images.map((f) => fs.readFileSync(f));
    expectSame(await clf.predict(buffers), reference);
    const decoded = await loadSharp()(images[4]).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const fromPixels = await clf.predict({ data: new Uint8Array(decoded.data), width: decoded.info.width, height: decoded.info.height, channels: 3 });
    expectSame([fromPixels], [reference[4]]);
    expectSame([await clf.predict(images[7])], [reference[7]]);
    await clf.dispose();
  });

  it('reports a bad image by name and predicts the others with predictSettled (--skip-bad)', async () => {
    const bad = tmp.file('not-an-image.jpg');
    const clf = new Classifier(onnx, { topk: 3 });
    await expect(clf.predict([images[0], bad])).rejects.toThrow(`${bad}: cannot decode ${bad}`);
    const settled = await clf.predictSettled([images[0], bad, '/no/such/image.png', images[1]]);
    expect(settled.map((s) => s.source)).toEqual([images[0], bad, '/no/such/image.png', images[1]]);
    expect(settled[1].error).toMatch(new RegExp(`^${bad.replace(/[/.]/g, '\\$&')}: cannot decode`));
    expect(settled[2].error).toBe('/no/such/image.png: image file not found: /no/such/image.png');
    expectSame([settled[0].result!, settled[3].result!], [reference[0], reference[1]]);
    await clf.dispose();
  });

  it('refuses pixels that do not fit their size, and files that are not models', async () => {
    const clf = new Classifier(onnx);
    await expect(clf.predict({ data: new Uint8Array(100), width: 10, height: 10, channels: 3 })).rejects.toThrow('image #0 (10x10x3 pixels): 100 values do not fit 10x10x3 (expected 300, row-major HWC)');
    await expect(clf.predict({ data: new Uint8Array(200), width: 10, height: 10, channels: 2 })).rejects.toThrow('image #0 (10x10x2 pixels): 2 channels; images must have 1 (grey), 3 (RGB) or 4 (RGBA) channels');
    const garbage = tmp.file('garbage.onnx');
    await expect(new Classifier(garbage).predict(images[0])).rejects.toThrow(`${garbage}: not an ONNX model`);
    const empty = path.join(tmp.dir, 'empty');
    await expect(new Classifier(empty).predict(images[0])).rejects.toThrow(
      `${empty}: not a model folder (no model.json or run.json); expected an .onnx file, an exported TF.js folder (model.json), a run directory or a .safetensors checkpoint`,
    );
    await expect(new Classifier(tmp.file('not-an-image.jpg')).predict(images[0])).rejects.toThrow(`${tmp.file('not-an-image.jpg')}: not a model (expected an .onnx file`);
  });

  it('resizes images to a model that takes another size, or says which image does not fit', async () => {
    // A grey 28x28 Fashion-MNIST model (pipeline: ToTensor, Normalize) given 56x56 colour images.
    const dir = path.join(tmp.dir, 'fashion');
    makeRun(dir, `model: { type: Classification, backbone: { type: ResNet, depth: 18, stem: cifar, in_channels: 1, base_width: 8 }, head: { type: ClsHead, num_classes: 10 } }\n${FASHION_DATA}`).dispose();
    const file = path.join(dir, 'm.onnx');
    await exportModel(path.join(dir, 'run'), { format: 'onnx', out: file, verify: false });
    const results = await new Classifier(file, { topk: 2 }).predict(images.slice(0, 2));
    expect(results[0].topk[0].name).toMatch(/^(T-shirt\/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot)$/);
    await expect(new Classifier(file, { resize: false }).predict(images[0])).rejects.toThrow(
      `${images[0]}: the image is 56x56 after the model's pre-processing (ToTensor, Normalize) but the model takes 28x28; resize it first, or let the predictor resize it`,
    );
  });

  it('is a registered predictor, and refuses a model without class scores', async () => {
    const clf = build<Classifier>('predictor', { type: 'Classifier', model: onnx, topk: 2 });
    expectSame([await clf.predict(images[0])].map((r) => ({ ...r, topk: r.topk })), [{ ...reference[0], topk: reference[0].topk.slice(0, 2) }]);
    const dir = path.join(tmp.dir, 'simclr');
    makeRun(dir, `model: { type: SimCLR, backbone: { type: ResNet, depth: 18, base_width: 8, stem: cifar } }\n${imagesData(16)}`).dispose();
    const file = path.join(dir, 'm.onnx');
    await exportModel(path.join(dir, 'run'), { format: 'onnx', out: file, verify: false });
    await expect(new Classifier(file).predict(images[0])).rejects.toThrow(`${file}: a features model (SimCLR) has no class scores; use a FeatureExtractor`);
    const emb = await new FeatureExtractor(file).predict(images[0]);
    expect(emb.length).toBe(64);
  });
});

describe('models from elsewhere', () => {
  it('runs an ONNX model without CV Workbench metadata: layout and size from its input, pixels scaled to 0-1, classes by index', async () => {
    const model = makeRun(path.join(tmp.dir, 'foreign'), `model: { type: Classification, backbone: { type: ResNet, depth: 18, base_width: 8, stem: cifar }, head: { type: ClsHead, num_classes: 4 } }\n${imagesData(20)}`);
    const { graph } = traceModel((x) => ({ scores: model.predict!(x as tf.Tensor4D) }), { imageShape: [20, 20, 3] });
    const file = path.join(tmp.dir, 'foreign.onnx');
    fs.writeFileSync(file, encodeModel(toOnnx(graph, { inputName: 'input' })));
    const clf = new Classifier(file, { topk: 4 });
    const meta = await clf.metadata();
    expect(meta.input).toEqual({ name: 'input', layout: 'NCHW', height: 20, width: 20, channels: 3, batch: 'dynamic' });
    expect(meta.preprocess.steps).toEqual([{ type: 'ToTensor' }]);
    const r = await clf.predict(images[2]);
    expect(r.topk.map((t) => t.name).sort()).toEqual(['0', '1', '2', '3']);
    // The same as the toolkit on the image resized to 20x20 and scaled to 0-1.
    const pixels = await loadSharp()(images[2]).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const img = { data: Float32Array.from(pixels.data), width: pixels.info.width, height: pixels.info.height, channels: 3, white: 255 };
    const state = { img };
    build<PipelineStep>('pipeline', { type: 'Resize', size: [20, 20] }).apply(state, randomFor(0, 0));
    const logits = tf.tidy(() => model.predict!(tf.div(tf.tensor4d(state.img.data as Float32Array, [1, 20, 20, 3]), 255) as tf.Tensor4D).dataSync());
    const probs = softmax(logits);
    for (const t of r.topk) expect(Math.abs(t.score - probs[t.label])).toBeLessThan(1e-4);
    await clf.dispose();
  });

  it('refuses a model with an output named __proto__ when it opens, naming the file and the output', async () => {
    const model = makeRun(path.join(tmp.dir, 'proto'), `model: { type: Classification, backbone: { type: ResNet, depth: 18, base_width: 8, stem: cifar }, head: { type: ClsHead, num_classes: 4 } }\n${imagesData(20)}`);
    // A computed key makes an own property named __proto__, as a graph from elsewhere may have.
    const { graph } = traceModel((x) => ({ ['__proto__']: model.predict!(x as tf.Tensor4D) }), { imageShape: [20, 20, 3] });
    const file = path.join(tmp.dir, 'proto.onnx');
    fs.writeFileSync(file, encodeModel(toOnnx(graph, { inputName: 'input' })));
    // onnxruntime-node's own run failed with "At least one output should be requested".
    await expect(new Classifier(file).predict(images[0])).rejects.toThrow(`${file}: the model has an output named "__proto__", which onnxruntime-node cannot return; rename that output where the model is exported`);
    // Threads are bounded before a session is made (100,000 of them held 2 GB and printed nothing).
    for (const threads of [0, 257, 100_000, 1.5]) await expect(new Classifier(file, { threads }).predict(images[0])).rejects.toThrow(`threads: expected a whole number from 1 to 256, got ${threads}`);
  });
});

describe('FeatureExtractor and retrieval', () => {
  it('gives unit-length embeddings, equal across backends', async () => {
    const a = await new FeatureExtractor(onnx).predict(images);
    const b = await new FeatureExtractor(tfjsDir).predict(images);
    for (const [i, e] of a.entries()) {
      expect(e.length).toBe(64);
      expect(Math.hypot(...e)).toBeCloseTo(1, 5);
      expect(Math.max(...e.map((v, k) => Math.abs(v - b[i][k])))).toBeLessThan(1e-5);
    }
  });

  it('finds an indexed image as its own nearest neighbour, and skips unreadable index files', async () => {
    const fe = new FeatureExtractor(onnx);
    const { neighbours, index } = await retrieve(fe, { index: [IMAGES], query: images[5], k: 3 });
    expect(index.entries).toHaveLength(12);
    expect(neighbours[0]).toMatchObject({ source: images[5], rank: 1 });
    expect(neighbours[0].score).toBeCloseTo(1, 5);
    expect(neighbours[1].score).toBeLessThanOrEqual(neighbours[0].score);
    const withBad = await buildIndex(fe, [...listImages([IMAGES]), tmp.file('not-an-image.jpg')]);
    expect(withBad.entries).toHaveLength(12);
    expect(withBad.skipped.map((s) => s.source)).toEqual([tmp.file('not-an-image.jpg')]);
    const q = await fe.predict(images[0]);
    expect(nearest(withBad, q, 1)[0].source).toBe(images[0]);
    await fe.dispose();
  });
});
