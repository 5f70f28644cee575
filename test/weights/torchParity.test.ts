/**
 * Parity with PyTorch (issue 20): torchvision models made at random initialisation by
 * torch_models.py, saved as .pth and as hand-written safetensors (F32, F16, BF16), load here with
 * PyTorch's logits; exported back, PyTorch loads them strictly and gives the same logits again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import { tempFiles } from '../helpers/tmp';
import { cvw } from '../helpers/cvw';
import { pythonHas, runPython } from '../data/python';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { readNpy } from '../../src/eval/npy';
import { readWeights } from '../../src/weights/read';
import { detectArchitecture } from '../../src/weights/maps';
import { convertToToolkit, loadConverted } from '../../src/weights/convert';
import { loadPretrainedBackbone } from '../../src/weights/pretrained';
import type { Classification } from '../../src/models/algorithms/classification';
import { pythonScript, relativeError } from './parity';

const hasTorch = pythonHas('torch', 'torchvision', 'numpy');
const t = tempFiles({});
const f = (name: string) => path.join(t.dir, name);

const python = pythonScript('torch_models.py');

function buildFor(file: string): { model: Classification; load(file: string): void } {
  const w = readWeights(file);
  const found = detectArchitecture(w.tensors)!;
  const model = build('model', { type: 'Classification', backbone: found.detected.backbone, head: { type: 'ClsHead', num_classes: found.detected.numClasses } }) as Classification;
  const load = (file: string) => {
    const r = loadConverted(model, convertToToolkit(readWeights(file).tensors, found.map), { file, prefix: '', where: 'test' });
    expect(r.missing).toEqual([]);
    expect(r.unused).toEqual([]);
  };
  return { model, load };
}

/** The file `got` holds the very tensors of `want`: the same names, shapes and values. */
function expectSameTensors(got: string, want: string): void {
  const a = readWeights(got).tensors;
  const b = readWeights(want).tensors;
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, t] of b) {
    expect(a.get(name)!.shape, name).toEqual(t.shape);
    expect(Array.from(a.get(name)!.values), name).toEqual(Array.from(t.values));
  }
}

function predict(model: Classification): Float32Array {
  const x = readNpy(f('input.npy'));
  return tf.tidy(() => model.eval().predict(tf.tensor4d(x.data, x.shape as [number, number, number, number])).dataSync() as Float32Array);
}

beforeAll(async () => {
  await useCpu();
  if (hasTorch) python('make', t.dir);
}, 120_000);
afterAll(() => t.cleanup());

describe.skipIf(!hasTorch)('torchvision weights, both ways', () => {
  for (const [name, low] of [
    ['resnet18', 'f16'],
    ['mobilenet_v2', 'bf16'],
    ['vit', 'f16'],
    ['swin', 'bf16'],
    ['convnext', 'f16'],
  ] as const) {
    it(`${name}: .pth, safetensors and ${low.toUpperCase()} safetensors give PyTorch's logits (1e-4 relative)`, () => {
      const { model, load } = buildFor(f(`${name}.pth`));
      const want = readNpy(f(`${name}.npy`)).data;
      load(f(`${name}.pth`));
      expect(relativeError(predict(model), want)).toBeLessThan(1e-4);
      // Zeros in between, so each load must really replace every weight.
      for (const v of model.stateDict().values()) v.assign(tf.zerosLike(v));
      load(f(`${name}.safetensors`));
      expect(relativeError(predict(model), want)).toBeLessThan(1e-4);
      load(f(`${name}.${low}.safetensors`));
      const lowWant = readNpy(f(`${name}.${low}.npy`)).data;
      expect(relativeError(predict(model), lowWant)).toBeLessThan(1e-4);
      // Rounding changed the logits visibly, so the comparison above did see the low-precision values.
      expect(relativeError(lowWant, want)).toBeGreaterThan(1e-4);
      model.dispose();
    });
  }

  it('exports back (cvw weights convert, then export): PyTorch loads strictly and gives the same logits', async () => {
    for (const name of ['resnet18', 'mobilenet_v2', 'vit', 'swin', 'convnext']) {
      const converted = await cvw('weights', 'convert', f(`${name}.pth`), '-o', f(`${name}.cvw.safetensors`));
      expect(converted.code, converted.err).toBe(0);
      const exported = await cvw('weights', 'export', f(`${name}.cvw.safetensors`), '--format', 'torchvision', '-o', f(`${name}.export.safetensors`));
      expect(exported.code, exported.err).toBe(0);
      expect(exported.out).toMatch(/backbone and classifier/);
    }
    python('check', t.dir, 'resnet18', 'mobilenet_v2', 'vit', 'swin', 'convnext');
    for (const name of ['resnet18', 'mobilenet_v2', 'vit', 'swin', 'convnext']) expect(relativeError(readNpy(f(`${name}.export.npy`)).data, readNpy(f(`${name}.npy`)).data)).toBeLessThan(1e-4);
  }, 120_000);

  it('ViT in timm names: exported with --format timm, the file reads back (timm map) with the same logits', async () => {
    const r = await cvw('weights', 'export', f('vit.cvw.safetensors'), '--format', 'timm', '-o', f('vit.timm.safetensors'));
    expect(r.code, r.err).toBe(0);
    const names = [...readWeights(f('vit.timm.safetensors')).tensors.keys()];
    expect(names).toEqual(expect.arrayContaining(['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'blocks.1.attn.qkv.weight', 'blocks.1.mlp.fc2.bias', 'norm.weight', 'head.weight']));
    const { model, load } = buildFor(f('vit.timm.safetensors'));
    load(f('vit.timm.safetensors'));
    expect(relativeError(predict(model), readNpy(f('vit.npy')).data)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('ConvNeXt in timm\'s and the official code\'s names: PyTorch\'s logits; exported in each, the very tensors those files hold', async () => {
    for (const naming of ['timm', 'official'] as const) {
      const file = f(`convnext.${naming}.safetensors`);
      const found = detectArchitecture(readWeights(file).tensors)!;
      expect(found.detected.variant).toBe(`ConvNeXt-16-32-64-128 wide, depths 1-2-1-1 (${naming} names)`);
      const { model, load } = buildFor(file);
      load(file);
      expect(relativeError(predict(model), readNpy(f('convnext.npy')).data)).toBeLessThan(1e-4);
      model.dispose();
      // From the toolkit's copy of the torchvision file (the export test above), to this naming.
      const r = await cvw('weights', 'export', f('convnext.cvw.safetensors'), '--format', naming, '-o', f(`convnext.${naming}.export.safetensors`));
      expect(r.code, r.err).toBe(0);
      expectSameTensors(f(`convnext.${naming}.export.safetensors`), file);
    }
  });

  it('ConvNeXt with its MLPs as 1x1 convolutions (timm\'s atto to nano): PyTorch\'s logits, and exported to timm as convolutions again', async () => {
    const file = f('convnext.timm_conv_mlp.safetensors');
    expect(readWeights(file).tensors.get('stages.0.blocks.0.mlp.fc1.weight')!.shape).toEqual([64, 16, 1, 1]);
    expect(detectArchitecture(readWeights(file).tensors)!.detected.backbone).toMatchObject({ arch: 'custom', conv_mlp: true });
    const { model, load } = buildFor(file);
    load(file);
    expect(relativeError(predict(model), readNpy(f('convnext.npy')).data)).toBeLessThan(1e-4);
    model.dispose();
    expect((await cvw('weights', 'convert', file, '-o', f('convnext.conv_mlp.cvw.safetensors'))).code).toBe(0);
    const r = await cvw('weights', 'export', f('convnext.conv_mlp.cvw.safetensors'), '--format', 'timm', '-o', f('convnext.conv_mlp.export.safetensors'));
    expect(r.code, r.err).toBe(0);
    expectSameTensors(f('convnext.conv_mlp.export.safetensors'), file);
  });

  it('ConvNeXt V2 (GRN) in timm\'s and the official V2 code\'s names: PyTorch\'s logits; exported from either to each, the very tensors those files hold', async () => {
    const convert = await cvw('weights', 'convert', f('convnextv2.official.safetensors'), '-o', f('convnextv2.cvw.safetensors'));
    expect(convert.code, convert.err).toBe(0);
    for (const naming of ['timm', 'official'] as const) {
      const file = f(`convnextv2.${naming}.safetensors`);
      const found = detectArchitecture(readWeights(file).tensors)!;
      expect(found.detected.variant).toBe(`ConvNeXt V2-16-32-64-128 wide, depths 1-2-1-1 (${naming} names)`);
      // V2 has no layer scale, its default with use_grn: the config says nothing of it.
      expect(found.detected.backbone).toEqual({ type: 'ConvNeXt', arch: 'custom', depths: [1, 2, 1, 1], dims: [16, 32, 64, 128], in_channels: 3, patch_size: 4, use_grn: true });
      const { model, load } = buildFor(file);
      load(file);
      const want = readNpy(f('convnextv2.npy')).data;
      expect(relativeError(predict(model), want)).toBeLessThan(1e-4);
      // Without its GRNs (weight and bias zero: each passes its input through) the logits differ: the comparison saw them.
      for (const [name, v] of model.stateDict()) if (name.includes('.grn.')) v.assign(tf.zerosLike(v));
      expect(relativeError(predict(model), want)).toBeGreaterThan(1e-2);
      model.dispose();
      const r = await cvw('weights', 'export', f('convnextv2.cvw.safetensors'), '--format', naming, '-o', f(`convnextv2.${naming}.export.safetensors`));
      expect(r.code, r.err).toBe(0);
      expectSameTensors(f(`convnextv2.${naming}.export.safetensors`), file);
    }
    const refused = await cvw('weights', 'export', f('convnextv2.cvw.safetensors'), '--format', 'torchvision', '-o', f('convnextv2.torchvision.safetensors'));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/its ConvNeXt is a V2 \(use_grn\); torchvision has no ConvNeXt V2/);
  });

  it('ViT: position embeddings made for 32 px are resampled for 64 px as torchvision does (bicubic)', () => {
    const model = build('model', { type: 'Classification', backbone: { type: 'VisionTransformer', arch: 'custom', embed_dim: 128, depth: 2, num_heads: 2, patch_size: 16, img_size: 64 }, head: { type: 'ClsHead', num_classes: 10 } }) as Classification;
    const report = loadPretrainedBackbone(model.backbone, 'VisionTransformer', f('vit32.pth'), 'model.pretrained');
    expect(report.missing).toEqual([]);
    // The head is not the backbone's: load it too, so the logits compare whole.
    const w = readWeights(f('vit32.pth')).tensors;
    for (const [k, v] of [['head.fc.weight', 'heads.head.weight'], ['head.fc.bias', 'heads.head.bias']]) {
      const t = w.get(v)!;
      model.head.stateDict().get(k.slice('head.'.length))!.assign(k.endsWith('weight') ? tf.transpose(tf.tensor2d(t.values, t.shape as [number, number])) : tf.tensor1d(t.values));
    }
    expect(relativeError(predict(model), readNpy(f('vit32to64.npy')).data)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('cvw weights inspect: format, nesting, parameters (torchvision\'s counts) and the backbone it fits', async () => {
    const r = await cvw('weights', 'inspect', f('resnet18.ckpt.pth'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/torch, weights under "model", prefix "module\." removed/);
    expect(r.out).toMatch(/tensors: 122 \(102 F32, 20 I64\), parameters: 11,689,512/);
    expect(r.out).toMatch(/fits: ResNet-18 \(torchvision\/timm names\), 1000-class classifier/);
    const m = await cvw('weights', 'inspect', f('mobilenet_v2.bf16.safetensors'), '--json');
    const report = JSON.parse(m.out);
    expect(report.parameters).toBe(3504872);
    expect(report.dtypes.BF16).toBeGreaterThan(0);
    expect(report.detected.backbone).toMatchObject({ type: 'MobileNetV2', width_mult: 1 });
    // Buffers (Swin's relative position index) are not parameters: sum(p.numel() for p in model.parameters()) in PyTorch.
    expect(JSON.parse((await cvw('weights', 'inspect', f('swin.pth'), '--json')).out).parameters).toBe(138262);
  });

  it('unwraps a training checkpoint ({model: {module.<name>: ...}}) to the same tensors', () => {
    const plain = readWeights(f('resnet18.pth'));
    const wrapped = readWeights(f('resnet18.ckpt.pth'));
    expect([wrapped.nestedKey, wrapped.strippedPrefix]).toEqual(['model', 'module.']);
    expect([...wrapped.tensors.keys()]).toEqual([...plain.tensors.keys()]);
    const a = wrapped.tensors.get('layer4.1.conv2.weight')!;
    expect(a.shape).toEqual([512, 512, 3, 3]);
    expect(Array.from(a.values.subarray(0, 50))).toEqual(Array.from(plain.tensors.get('layer4.1.conv2.weight')!.values.subarray(0, 50)));
  });

  it('refuses a pickle that asks for os.system, without running it; refuses the legacy format with how to convert', async () => {
    expect(() => readWeights(f('evil.pth'))).toThrow(/evil\.pth: refusing to load (posix|os)\.system: a checkpoint must never run code/);
    expect(fs.existsSync(f('pwned'))).toBe(false);
    expect(() => readWeights(f('legacy.pth'))).toThrow(/legacy\.pth: a legacy torch\.save file \(before PyTorch 1\.6\)/);
    const r = await cvw('weights', 'inspect', f('evil.pth'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/refusing to load/);
  });

  it('gives located errors for truncated archives and a dict that contains itself', () => {
    const buf = fs.readFileSync(f('resnet18.pth'));
    fs.writeFileSync(f('cut.pth'), buf.subarray(0, buf.length >> 1));
    expect(() => readWeights(f('cut.pth'))).toThrow(/cut\.pth: not a valid zip archive/);
    expect(() => readWeights(f('cyclic.pth'))).toThrow(/cyclic\.pth: "self" refers back to a dict that contains it/);
    const st = fs.readFileSync(f('resnet18.safetensors'));
    fs.writeFileSync(f('cut.safetensors'), st.subarray(0, st.length - 100));
    expect(() => readWeights(f('cut.safetensors'))).toThrow(/cut\.safetensors: truncated — tensor "[^"]+" ends at byte \d+ of \d+/);
  });

  it('model.pretrained: the backbone loads into a model with a new head; a shape mismatch names the key and both shapes', () => {
    const model = build('model', { type: 'Classification', backbone: { type: 'ResNet', depth: 18 }, head: { type: 'ClsHead', num_classes: 10 } }) as Classification;
    const report = loadPretrainedBackbone(model.backbone, 'ResNet', f('resnet18.pth'), 'model.pretrained');
    expect(report.missing).toEqual([]);
    expect(report.unused).toEqual(['fc.weight', 'fc.bias']);
    expect(report.loaded).toHaveLength(100);
    const w = readWeights(f('resnet18.pth')).tensors.get('layer1.0.conv1.weight')!;
    // OIHW [64, 64, 3, 3] -> HWIO: element (o=1, i=2, h=0, w=1).
    const hwio = (model.backbone.stateDict().get('layer1.0.conv1.weight')!.dataSync() as Float32Array)[((0 * 3 + 1) * 64 + 2) * 64 + 1];
    expect(hwio).toBe(w.values[((1 * 64 + 2) * 3 + 0) * 3 + 1]);
    model.dispose();

    const narrow = build('model', { type: 'Classification', backbone: { type: 'ResNet', depth: 18, base_width: 32 }, head: { type: 'ClsHead', num_classes: 10 } }) as Classification;
    expect(() => loadPretrainedBackbone(narrow.backbone, 'ResNet', f('resnet18.pth'), 'model.pretrained')).toThrow(
      /model\.pretrained: .*resnet18\.pth: "conv1\.weight" has shape \[7,7,3,64\] \(in the toolkit's layout, as "backbone\.stem\.0\.conv\.weight"\) but the model's "backbone\.stem\.0\.conv\.weight" is \[7,7,3,32\]/,
    );
    expect(() => loadPretrainedBackbone(narrow.backbone, 'MobileNetV2', f('resnet18.pth'), 'model.pretrained')).toThrow(/does not look like torchvision MobileNetV2 weights/);
    narrow.dispose();
  });

  it("model.pretrained_key: the query encoder of a MoCo checkpoint; without the key the error names it", () => {
    // MoCo's layout: {epoch, arch, state_dict: {module.encoder_q.*, module.encoder_k.*, module.queue}}.
    runPython(
      `import sys, torch
sd = torch.load(sys.argv[1])
wrapped = {f'module.encoder_q.{k}': v for k, v in sd.items()}
wrapped.update({f'module.encoder_k.{k}': torch.zeros_like(v) for k, v in sd.items()})
wrapped['module.queue'] = torch.zeros(128, 16)
torch.save({'epoch': 200, 'arch': 'resnet18', 'state_dict': wrapped}, sys.argv[2])`,
      [f('resnet18.pth'), f('moco.pth')],
    );
    const model = build('model', { type: 'Classification', backbone: { type: 'ResNet', depth: 18 }, head: { type: 'ClsHead', num_classes: 10 } }) as Classification;
    expect(() => loadPretrainedBackbone(model.backbone, 'ResNet', f('moco.pth'), 'model.pretrained')).toThrow(/moco\.pth does not look like .*ResNet weights .*; the backbone's weights are under "encoder_q\.": set model\.pretrained_key: encoder_q$/);
    for (const key of ['encoder_q', 'state_dict.module.encoder_q']) {
      const report = loadPretrainedBackbone(model.backbone, 'ResNet', f('moco.pth'), 'model.pretrained', key);
      expect([report.missing, report.loaded.length, report.unused]).toEqual([[], 100, ['fc.weight', 'fc.bias']]);
    }
    // The query encoder's values (the key encoder's are zeros).
    const w = readWeights(f('resnet18.pth')).tensors.get('conv1.weight')!;
    const hwio = model.backbone.stateDict().get('stem.0.conv.weight')!.dataSync() as Float32Array;
    expect(hwio[((0 * 7 + 0) * 3 + 1) * 64 + 5]).toBe(w.values[((5 * 3 + 1) * 7 + 0) * 7 + 0]);
    model.dispose();
  });
});
