/**
 * Parity with PyTorch for the Swin namings of timm and the official code, and for Megvii's YOLOX
 * checkpoints (issue 20). reference_models.py builds small models whose module structure gives
 * those names (timm and yolox are not installed) at random initialisation; loaded here, they give
 * PyTorch's logits, backbone features and head outputs within 1e-4 relative.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import { tempFiles } from '../helpers/tmp';
import { cvw } from '../helpers/cvw';
import { pythonHas } from '../data/python';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { readNpy } from '../../src/eval/npy';
import { readWeights } from '../../src/weights/read';
import { detectArchitecture } from '../../src/weights/maps';
import { convertToToolkit, loadConverted } from '../../src/weights/convert';
import { loadPretrainedBackbone } from '../../src/weights/pretrained';
import { loadCheckpoint, withPrefix } from '../../src/train/checkpoint';
import type { Classification } from '../../src/models/algorithms/classification';
import type { YOLOX } from '../../src/models/algorithms/detection/yolox';
import type { Module } from '../../src/models/nn/module';
import { writeForeignWeights } from '../helpers/foreignWeights';
import { pythonScript, relativeError } from './parity';

const hasTorch = pythonHas('torch', 'torchvision', 'numpy');
const t = tempFiles({});
const f = (name: string) => path.join(t.dir, name);

const python = pythonScript('reference_models.py');

function input(name: string): tf.Tensor4D {
  const x = readNpy(f(name));
  return tf.tensor4d(x.data, x.shape as [number, number, number, number]);
}

/** The model `file` fits, built from what detection says, with the file loaded (nothing missing, nothing left over). */
function loadModel<M extends Module>(file: string, expectVariant: RegExp): M {
  const w = readWeights(file);
  const found = detectArchitecture(w.tensors)!;
  expect(found.detected.variant).toMatch(expectVariant);
  const cfg = found.detected.model ?? { type: 'Classification', backbone: found.detected.backbone, head: { type: 'ClsHead', num_classes: found.detected.numClasses } };
  const model = build('model', cfg) as unknown as M;
  const r = loadConverted(model, convertToToolkit(w.tensors, found.map), { file, prefix: '', where: 'test' });
  expect(r.missing).toEqual([]);
  expect(r.unused).toEqual([]);
  return model;
}

function logits(model: Classification, x: tf.Tensor4D): Float32Array {
  return tf.tidy(() => model.eval().predict(x).dataSync() as Float32Array);
}

beforeAll(async () => {
  await useCpu();
  if (hasTorch) python('make', t.dir);
}, 120_000);
afterAll(() => t.cleanup());

describe.skipIf(!hasTorch)('Swin in timm and official names', () => {
  it("timm's names (.pth and safetensors) and the official checkpoint give PyTorch's logits (1e-4 relative)", async () => {
    const x = input('swin_input.npy');
    const want = readNpy(f('swin.npy')).data;
    for (const [file, variant] of [
      ['swin_timm.pth', /Swin 16-wide, depths 2-2, window 4 \(timm names\)/],
      ['swin_timm.safetensors', /\(timm names\)/],
      ['swin_official.pth', /Swin 16-wide, depths 2-2, window 4 \(official names\)/],
    ] as const) {
      const model = loadModel<Classification>(f(file), variant);
      expect(relativeError(logits(model, x), want), file).toBeLessThan(1e-4);
      model.dispose();
    }
    // The official checkpoint's attention masks and position indices are constants, dropped on purpose
    // (and buffers, not parameters: PyTorch counts 35,366).
    expect(JSON.parse((await cvw('weights', 'inspect', f('swin_official.pth'), '--json')).out).parameters).toBe(35366);
    expect([...readWeights(f('swin_official.pth')).tensors.keys()].filter((k) => k.endsWith('attn_mask'))).toHaveLength(2);
    x.dispose();
  });

  it('load_from takes the official checkpoint; exported with --format timm, PyTorch loads it strictly with the same logits', async () => {
    const model = build('model', { type: 'Classification', backbone: { type: 'SwinTransformer', arch: 'custom', embed_dim: 16, depths: [2, 2], num_heads: [2, 4], patch_size: 2, window_size: 4 }, head: { type: 'ClsHead', num_classes: 10 } }) as Classification;
    const ckpt = loadCheckpoint(f('swin_official.pth'));
    const { missing, unexpected } = model.loadStateDict(withPrefix(ckpt.tensors, 'model.'));
    expect([missing, unexpected]).toEqual([[], []]);
    const x = input('swin_input.npy');
    expect(relativeError(logits(model, x), readNpy(f('swin.npy')).data)).toBeLessThan(1e-4);
    model.dispose();
    x.dispose();

    const converted = await cvw('weights', 'convert', f('swin_official.pth'), '-o', f('swin.cvw.safetensors'));
    expect(converted.code, converted.err).toBe(0);
    const exported = await cvw('weights', 'export', f('swin.cvw.safetensors'), '--format', 'timm', '-o', f('swin_timm.export.safetensors'));
    expect(exported.code, exported.err).toBe(0);
    const names = [...readWeights(f('swin_timm.export.safetensors')).tensors.keys()];
    expect(names).toEqual(expect.arrayContaining(['layers.1.downsample.reduction.weight', 'head.fc.weight', 'layers.0.blocks.1.attn.relative_position_bias_table']));
    expect(names.some((n) => n.startsWith('layers.0.downsample'))).toBe(false);
    python('check', t.dir, 'swin_timm');
    expect(relativeError(readNpy(f('swin_timm.export.npy')).data, readNpy(f('swin.npy')).data)).toBeLessThan(1e-4);
  }, 60_000);
});

describe.skipIf(!hasTorch)('YOLOX from the official checkpoint names', () => {
  for (const [name, variant] of [
    ['yolox', /YOLOX \(depth 0\.33, width 0\.125\) \(official YOLOX names\)/],
    ['yolox_nano', /YOLOX \(depth 0\.33, width 0\.125, depthwise\) \(official YOLOX names\)/],
  ] as const) {
    it(`${name}: backbone features (dark3-5) and raw head outputs equal PyTorch's (1e-4 relative)`, () => {
      const model = loadModel<YOLOX>(f(`${name}.pth`), variant).eval();
      const x = input('yolox_input.npy');
      tf.tidy(() => {
        const feats = model.backbone.forward(x) as tf.Tensor4D[];
        expect(feats.map((t) => t.shape)).toEqual([3, 4, 5].map((l) => readNpy(f(`${name}.dark${l}.npy`)).shape));
        feats.forEach((t, i) => expect(relativeError(t.dataSync(), readNpy(f(`${name}.dark${i + 3}.npy`)).data), `dark${i + 3}`).toBeLessThan(1e-4));
        const raw = model.head.forward(model.neck.forward(feats)).raw;
        expect(raw.shape).toEqual([1, 8 * 8 + 4 * 4 + 2 * 2, 4 + 1 + 3]);
        expect(relativeError(raw.dataSync(), readNpy(f(`${name}.raw.npy`)).data)).toBeLessThan(1e-4);
      });
      x.dispose();
      model.dispose();
    });
  }

  it('a classifier with a CSPDarknet backbone takes model.pretrained from a YOLOX checkpoint (the neck and head are left over)', () => {
    const model = build('model', { type: 'Classification', backbone: { type: 'CSPDarknet', deepen_factor: 0.33, widen_factor: 0.125 }, head: { type: 'ClsHead', num_classes: 3 } }) as Classification;
    const report = loadPretrainedBackbone(model.backbone, 'CSPDarknet', f('yolox.pth'), 'model.pretrained');
    expect(report.missing).toEqual([]);
    expect(report.unused.length).toBeGreaterThan(0);
    expect(report.unused.every((k) => /^backbone\.(?!backbone\.)|^head\./.test(k))).toBe(true);
    const x = input('yolox_input.npy');
    tf.tidy(() => {
      const dark5 = (model.backbone.eval().forward(x) as tf.Tensor4D[])[2];
      expect(relativeError(dark5.dataSync(), readNpy(f('yolox.dark5.npy')).data)).toBeLessThan(1e-4);
    });
    x.dispose();
    model.dispose();
  });

  it('a YOLOX run exports back in the official names (--format yolox): PyTorch loads it strictly with the same head outputs', async () => {
    const converted = await cvw('weights', 'convert', f('yolox.pth'), '-o', f('yolox.cvw.safetensors'));
    expect(converted.code, converted.err).toBe(0);
    const exported = await cvw('weights', 'export', f('yolox.cvw.safetensors'), '--format', 'yolox', '-o', f('yolox.export.safetensors'));
    expect(exported.code, exported.err).toBe(0);
    expect(exported.out).toMatch(/the whole YOLOX/);
    // A classifier's backbone is not a YOLOX.
    const wrong = await cvw('weights', 'export', f('swin.cvw.safetensors'), '--format', 'yolox', '-o', f('wrong.safetensors'));
    expect(wrong.err).toMatch(/--format yolox is not available for SwinTransformer/);
    python('check', t.dir, 'yolox');
    expect(relativeError(readNpy(f('yolox.export.npy')).data, readNpy(f('yolox.raw.npy')).data)).toBeLessThan(1e-4);
  }, 60_000);

  it('cvw weights inspect names the YOLOX variant and the model config to load it into', async () => {
    const r = await cvw('weights', 'inspect', f('yolox.pth'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/weights under "model"/);
    // PyTorch's sum(p.numel() for p in model.parameters()): batch-norm statistics and counters are buffers.
    expect(r.out).toMatch(/parameters: 564,232\n/);
    expect(r.out).toMatch(/fits: YOLOX \(depth 0\.33, width 0\.125\) \(official YOLOX names\), 3-class head/);
    expect(r.out).toMatch(/"type":"YOLOX"/);
    expect(r.out).toMatch(/load_from: .*yolox\.pth/);
  });
});

describe('YOLOX sizes from the official names', () => {
  it('a published size (nano: depthwise, 80 classes) is recognised as such, and its model config takes every tensor', () => {
    const file = f('yolox_nano_80.safetensors');
    writeForeignWeights(file, { type: 'YOLOX', size: 'nano', backbone: { type: 'CSPDarknet' }, head: { type: 'YOLOXHead', num_classes: 80 } }, 'yolox');
    const w = readWeights(file);
    expect(w.tensors.has('backbone.backbone.dark5.1.conv1.conv.weight') && w.tensors.has('backbone.C3_n4.conv3.bn.num_batches_tracked') && w.tensors.has('head.obj_preds.2.bias')).toBe(true);
    const found = detectArchitecture(w.tensors)!;
    expect(found.detected.variant).toBe('YOLOX-nano (official YOLOX names)');
    expect(found.detected.model).toEqual({ type: 'YOLOX', size: 'nano', backbone: { type: 'CSPDarknet', in_channels: 3 }, head: { type: 'YOLOXHead', num_classes: 80 } });
    const model = build('model', found.detected.model!) as unknown as YOLOX;
    const r = loadConverted(model, convertToToolkit(w.tensors, found.map), { file, prefix: '', where: 'test' });
    expect([r.missing, r.unused]).toEqual([[], []]);
    model.dispose();
  });
});
