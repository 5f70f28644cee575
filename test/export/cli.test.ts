/**
 * `cvw export`, `cvw predict`, `cvw retrieve` in-process (stdout/stderr captured), and the
 * ExportHook at the end of a real (tiny) training run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cvw } from '../helpers/cvw';
import { train } from '../../src/train/train';
import { Classifier } from '../../src/export/predict';
import { ensureBackend } from '../../src/export/source';
import { tempFiles } from '../helpers/tmp';
import { compareOutputs, describeComparison } from '../../src/export/exportModel';
import { IMAGES, ROOT, imagesData, makeRun, onnxCheck } from './helpers';

const t = tempFiles({ 'bad.png': 'not a png' });
afterAll(() => t.cleanup());


describe('cvw export / predict / retrieve', () => {
  const run = path.join(t.dir, 'cls', 'run');

  beforeAll(async () => {
    await ensureBackend('wasm');
    makeRun(path.join(t.dir, 'cls'), `model: { type: Classification, backbone: { type: ResNet, depth: 18, base_width: 8, stem: cifar }, head: { type: ClsHead, num_classes: 3 } }\n${imagesData(24)}`).dispose();
  });

  it('exports a run to <run>/export/model.onnx and prints its path, and to a TF.js folder with --json', async () => {
    const r = await cvw('export', run, '--quiet');
    expect(r).toMatchObject({ code: 0, out: `${path.join(run, 'export', 'model.onnx')}\n` });
    expect(onnxCheck(path.join(run, 'export', 'model.onnx'))).toBe('');
    const j = await cvw('export', run, '--format', 'tfjs', '--json');
    expect(j.code).toBe(0);
    const result = JSON.parse(j.out);
    expect(result).toMatchObject({ format: 'tfjs', path: path.join(run, 'export', 'tfjs'), metadata: { task: 'classification', classes: ['bag', 't-shirt', 'trouser'] } });
    expect(result.verified.maxAbsDiff).toBeLessThan(1e-4);
  });

  it('judges the export by float32 rounding of each output\'s size: large logits pass, a real fault warns', async () => {
    // Logits in the hundreds of thousands: rounding alone differs by more than 1e-3 there.
    const large = path.join(t.dir, 'large');
    makeRun(large, `model: { type: Classification, backbone: { type: ResNet, depth: 18, base_width: 8, stem: cifar }, head: { type: ClsHead, num_classes: 3 } }\n${imagesData(24)}`, { headScale: 1e5 }).dispose();
    const r = await cvw('export', path.join(large, 'run'), '--json');
    expect(r.code).toBe(0);
    const { verified } = JSON.parse(r.out);
    expect(verified.scale).toBeGreaterThan(1e4);
    expect(verified.maxAbsDiff).toBeGreaterThan(1e-3);
    expect(verified).toMatchObject({ matches: true, images: 4 });
    expect(r.err).not.toMatch(/warning/);

    const logits = Float32Array.from([3.2, -1.5, 0.25]);
    const features = Float32Array.from([12000, -8000]);
    const off = (a: Float32Array, i: number, d: number) => a.map((v, j) => (j === i ? v + d : v));
    expect(compareOutputs({ logits: off(logits, 0, 5e-4), features: off(features, 1, 0.5) }, { logits, features })).toEqual({ maxAbsDiff: 0.5, scale: 12000, matches: true });
    // An error in the small output is not excused by the large one beside it.
    expect(compareOutputs({ logits: off(logits, 2, 0.01), features }, { logits, features })).toMatchObject({ matches: false });
    expect(compareOutputs({ logits: off(logits, 1, NaN), features }, { logits, features })).toMatchObject({ maxAbsDiff: Infinity, matches: false });
    expect(compareOutputs({ features }, { logits, features })).toMatchObject({ matches: false });
    expect(describeComparison({ maxAbsDiff: 0.01, scale: 3.2, matches: false })).toBe("max |difference| 1.00e-2 (outputs up to 3.20), more than float32 rounding explains: please report this with the model's config");
  });

  it('rejects bad options and sources with clear messages', async () => {
    expect(await cvw('export', run, '--format', 'keras')).toMatchObject({ code: 2, err: expect.stringContaining('cvw export: --format must be one of onnx, tfjs, got "keras"') });
    expect(await cvw('export', run, '--nchw', '--nhwc')).toMatchObject({ code: 2, err: expect.stringContaining('--nchw and --nhwc exclude each other') });
    expect(await cvw('export', t.dir)).toMatchObject({ code: 1, err: `cvw export: ${t.dir}: not a run directory (no run.json); give a run directory, a .safetensors checkpoint, an .onnx file or an exported TF.js folder\n` });
    expect(await cvw('export', t.file('bad.png'))).toMatchObject({ code: 1, err: expect.stringContaining(`cvw export: ${t.file('bad.png')}: not a safetensors file (its first 8 bytes give a header of`) });
  });

  it('predicts a folder (text and --json), stops at a bad image, and skips it with --skip-bad', async () => {
    const model = path.join(run, 'export', 'model.onnx');
    const text = await cvw('predict', model, path.join(IMAGES, 'bag'), '--topk', '2');
    expect(text.code).toBe(0);
    const lines = text.out.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/bag-0\.jpg\s+(bag|t-shirt|trouser) 0\.\d{4}\s+(bag|t-shirt|trouser) 0\.\d{4}$/);
    // --device gpu: the same answers; on a machine where onnxruntime's WebGPU finds no adapter, a note on stderr.
    const gpu = await cvw('predict', model, path.join(IMAGES, 'bag'), '--topk', '2', '--device', 'gpu');
    expect(gpu.code).toBe(0);
    expect(gpu.out).toBe(text.out);
    expect(gpu.err).toMatch(/^(note: GPU inference unavailable \(onnxruntime's WebGPU provider: .+\); running on the CPU\n)?$/);
    expect(await cvw('predict', model, path.join(IMAGES, 'bag'), '--device', 'tpu')).toMatchObject({ code: 2, err: expect.stringContaining('--device must be one of cpu, gpu, got "tpu"') });
    // A detector's options given to a classifier are refused, not ignored.
    expect(await cvw('predict', model, path.join(IMAGES, 'bag'), '--score-threshold', '0.5')).toMatchObject({ code: 2, out: '', err: expect.stringContaining('cvw predict: --score-threshold: the model is not a detector (its task is classification)') });
    expect(await cvw('predict', model, path.join(IMAGES, 'bag'), '--features', '--max-detections', '5')).toMatchObject({ code: 2, out: '', err: expect.stringContaining('--max-detections: --features prints embeddings, not boxes') });

    const bad = t.file('bad.png');
    const stop = await cvw('predict', model, path.join(IMAGES, 'bag', 'bag-0.jpg'), bad);
    expect(stop.code).toBe(1);
    expect(stop.err).toMatch(new RegExp(`^cvw predict: ${bad.replace(/[/.]/g, '\\$&')}: cannot decode`));

    const skip = await cvw('predict', model, path.join(IMAGES, 'bag', 'bag-0.jpg'), bad, '--skip-bad', '--json');
    expect(skip.code).toBe(0);
    const rows = JSON.parse(skip.out);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ source: path.join(IMAGES, 'bag', 'bag-0.jpg'), name: expect.any(String), topk: expect.any(Array) });
    expect(rows[1]).toMatchObject({ source: bad, error: expect.stringContaining(`${bad}: cannot decode`) });
    expect(skip.err).toContain('1 of 2 image(s) skipped');
  });

  it('predicts with the run directory and the TF.js export alike', async () => {
    const a = JSON.parse((await cvw('predict', run, path.join(IMAGES, 'trouser'), '--json')).out);
    const b = JSON.parse((await cvw('predict', path.join(run, 'export', 'tfjs'), path.join(IMAGES, 'trouser'), '--json')).out);
    expect(a.map((r: { name: string }) => r.name)).toEqual(b.map((r: { name: string }) => r.name));
  });

  it('retrieves the nearest images of a query', async () => {
    const query = path.join(IMAGES, 't-shirt', 't-shirt-2.jpg');
    const r = await cvw('retrieve', path.join(run, 'export', 'model.onnx'), '--index', IMAGES, '--query', query, '-k', '3');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`  1  1.0000  ${query}`);
    expect(await cvw('retrieve', run, '--query', query)).toMatchObject({ code: 2, err: expect.stringContaining('missing --index <folder>') });
  });
});

describe('ExportHook', () => {
  it('exports the best checkpoint of a finished run to <run>/export', async () => {
    const config = `
engine: { backend: wasm }
seed: 5
model:
  type: Classification
  backbone: { type: ResNet, depth: 18, stem: cifar, base_width: 4 }
  head: { type: ClsHead, num_classes: 3 }
data:
  workers: 0
  train:
    type: ClsDataset
    batch_size: 6
    source: { type: ImageFolder, root: ${ROOT}/data/images-sample }
    pipeline: [{ type: RandomResizedCrop, size: 16, scale: [0.5, 1] }, { type: ToTensor }]
  val:
    type: ClsDataset
    batch_size: 12
    source: { type: ImageFolder, root: ${ROOT}/data/images-sample }
    pipeline: [{ type: Resize, size: 16 }, { type: ToTensor }]
eval_pipelines: [{ split: val, evaluators: [{ type: ClsEvaluator, topk: [1] }] }]
optimizer: { type: SGD, lr: 0.05, momentum: 0.9 }
runner: { max_epochs: 2, log_interval: 1 }
checkpoint: { save_best: val/accuracy_top1 }
hooks: [{ type: EMAHook, decay: 0.9 }, { type: ExportHook, formats: [onnx, tfjs] }]
`;
    fs.writeFileSync(t.file('hook.yaml'), config);
    const dir = path.join(t.dir, 'hook-run');
    const result = await train(t.file('hook.yaml'), { workDir: dir, quiet: true });
    expect(result.status).toBe('finished');
    expect(fs.existsSync(path.join(dir, 'export', 'model.onnx'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'export', 'tfjs', 'model.json'))).toBe(true);
    const log = fs.readFileSync(path.join(dir, 'log.txt'), 'utf8');
    expect(log).toMatch(/exported best\.safetensors \(EMA weights\) to export\/model\.onnx, verified: max \|difference\| \d\.\d\de-\d \(outputs up to [\d.]+\)$/m);
    const clf = new Classifier(path.join(dir, 'export', 'model.onnx'));
    const meta = await clf.metadata();
    expect(meta).toMatchObject({ classes: ['bag', 't-shirt', 'trouser'], source: { weights: 'ema', run: dir }, input: { height: 16, width: 16 } });
    expect((await clf.predict(path.join(IMAGES, 'bag', 'bag-1.png'))).topk).toHaveLength(3);
    await clf.dispose();
  });
});
