/**
 * Fine-tuning: layer-wise learning-rate decay gives MAE's multipliers per ViT block (and the
 * reference's per ConvNeXt stage) and every optimizer steps by them; a FineTune run from a torchvision-named file keeps its frozen stages'
 * weights and batch-norm statistics exactly as loaded while the rest learns; the fine-tuning
 * configs validate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/tf';
import { tempFiles } from '../helpers/tmp';
import { writeForeignWeights } from '../helpers/foreignWeights';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { checkConfig } from '../../src/core/check';
import type { Module } from '../../src/models/nn/module';
import type { OptimizerFactory } from '../../src/train/optimizers/optimizer';
import { train } from '../../src/train/train';
import { readWeights } from '../../src/weights/read';
import { convertToToolkit } from '../../src/weights/convert';
import { resnetMap } from '../../src/weights/maps/resnet';
import { mapsForBackbone } from '../../src/weights/maps';

const root = path.resolve(__dirname, '../..');
const t = tempFiles({});
beforeAll(async () => {
  await useCpu();
});
afterAll(() => t.cleanup());

describe('optimizer.paramwise.layer_decay', () => {
  const depth = 4;
  const decay = 0.65;
  const vit = () =>
    build('model', {
      type: 'Classification',
      backbone: { type: 'VisionTransformer', arch: 'custom', embed_dim: 16, depth, num_heads: 2, img_size: 8, patch_size: 4 },
      head: { type: 'ClsHead', num_classes: 3 },
    }) as Module;

  /** MAE's util/lr_decay.py: layer id 0 for the embeddings, i + 1 for block i, depth + 1 for the rest; scale decay^(depth + 1 - id). */
  function expected(name: string): number {
    const block = /^backbone\.blocks\.(\d+)\./.exec(name);
    if (block) return decay ** (depth - Number(block[1]));
    if (/^backbone\.(cls_token|pos_embed|patch_embed\.)/.test(name)) return decay ** (depth + 1);
    return 1;
  }

  it('gives block i of N the multiplier decay^(N - i), the embeddings decay^(N + 1), norm and head 1; custom multipliers multiply', () => {
    const model = vit();
    const named = model.namedParameters();
    const opt = build<OptimizerFactory>('optimizer', { type: 'AdamW', lr: 1e-3, paramwise: { layer_decay: decay, custom: [{ pattern: '^head\\.', lr_mult: 10 }] } })(named);
    const mult = new Map(opt.params.map((p) => [p.name, p.lrMult]));
    expect(mult.size).toBe(named.length);
    expect(mult.get('backbone.cls_token')).toBeCloseTo(decay ** 5, 12);
    expect(mult.get('backbone.pos_embed')).toBeCloseTo(decay ** 5, 12);
    expect(mult.get('backbone.patch_embed.weight')).toBeCloseTo(decay ** 5, 12);
    expect(mult.get('backbone.blocks.0.attn.qkv.weight')).toBeCloseTo(decay ** 4, 12);
    expect(mult.get('backbone.blocks.3.mlp.fc2.bias')).toBeCloseTo(decay, 12);
    expect(mult.get('backbone.norm.weight')).toBe(1);
    expect(mult.get('head.fc.weight')).toBeCloseTo(10, 12);
    for (const [name, m] of mult) if (!name.startsWith('head.')) expect(m, name).toBeCloseTo(expected(name), 12);
    // Each block's parameters all share its multiplier, and deeper blocks learn faster.
    const perBlock = [0, 1, 2, 3].map((i) => new Set([...mult].filter(([n]) => n.startsWith(`backbone.blocks.${i}.`)).map(([, m]) => m)));
    expect(perBlock.map((s) => s.size)).toEqual([1, 1, 1, 1]);
    expect(perBlock.map((s) => [...s][0])).toEqual([decay ** 4, decay ** 3, decay ** 2, decay].map((x) => expect.closeTo(x, 12)));
    model.dispose();
  });

  for (const type of ['SGD', 'AdamW', 'LARS']) {
    it(`${type} steps each parameter by its multiplier`, () => {
      const model = vit();
      const named = model.namedParameters();
      // No weight decay and no momentum history: a first step with gradients of ones moves a
      // parameter by lr x mult (Adam's normalised step is 1 too; LARS does not adapt norms).
      const opt = build<OptimizerFactory>('optimizer', { type, lr: 0.1, weight_decay: 0, paramwise: { layer_decay: decay } })(named);
      const probe = ['backbone.pos_embed', 'backbone.blocks.0.norm1.bias', 'backbone.blocks.2.norm2.bias', 'backbone.norm.bias'];
      const before = probe.map((n) => named.find(([k]) => k === n)![1].variable.dataSync()[0]);
      const grads: Record<string, tf.Tensor> = {};
      for (const [, p] of named) grads[p.variable.name] = tf.onesLike(p.variable);
      opt.step(grads, 0.1);
      const after = probe.map((n) => named.find(([k]) => k === n)![1].variable.dataSync()[0]);
      // LARS adapts pos_embed (an embedding) by its trust ratio: only the norms are compared there.
      probe.forEach((n, i) => {
        if (type === 'LARS' && n === 'backbone.pos_embed') return;
        expect(before[i] - after[i], n).toBeCloseTo(0.1 * expected(n), 5);
      });
      for (const g of Object.values(grads)) g.dispose();
      opt.dispose();
      model.dispose();
    });
  }

  it('groups a ConvNeXt as its reference code does: stem 0, stages 0-1 as 1-2, stage 2 three blocks a layer, stage 3 last', () => {
    for (const [depths, top] of [
      [[2, 2, 12, 2], 12],
      [[1, 1, 9, 1], 6],
    ] as const) {
      const model = build('model', { type: 'Classification', backbone: { type: 'ConvNeXt', arch: 'custom', depths, dims: [4, 8, 16, 32] }, head: { type: 'ClsHead', num_classes: 3 } }) as Module;
      const opt = build<OptimizerFactory>('optimizer', { type: 'AdamW', lr: 1e-3, paramwise: { layer_decay: decay } })(model.namedParameters());
      const mult = new Map(opt.params.map((p) => [p.name, p.lrMult]));
      // mmpretrain's ConvNeXt.get_layer_depth: layer ids 0 .. top + 1, scale decay^(top + 1 - id).
      const at = (id: number) => expect.closeTo(decay ** (top + 1 - id), 12);
      expect(mult.get('backbone.stem.conv.weight')).toEqual(at(0));
      expect(mult.get(`backbone.stages.0.blocks.${depths[0] - 1}.conv_dw.weight`)).toEqual(at(1));
      expect(mult.get('backbone.stages.1.downsample.conv.weight')).toEqual(at(2));
      expect(mult.get('backbone.stages.1.blocks.0.mlp.fc1.weight')).toEqual(at(2));
      expect(mult.get('backbone.stages.2.downsample.norm.weight')).toEqual(at(3));
      expect(mult.get('backbone.stages.2.blocks.2.gamma')).toEqual(at(3));
      expect(mult.get('backbone.stages.2.blocks.3.gamma')).toEqual(at(4));
      expect(mult.get(`backbone.stages.2.blocks.${depths[2] - 1}.norm.bias`)).toEqual(at(3 + Math.floor((depths[2] - 1) / 3)));
      expect(mult.get('backbone.stages.3.downsample.conv.bias')).toEqual(at(top));
      expect(mult.get('backbone.stages.3.blocks.0.mlp.fc2.weight')).toEqual(at(top));
      expect(mult.get('backbone.norm.weight')).toBe(1);
      expect(mult.get('head.fc.weight')).toBe(1);
      opt.dispose();
      model.dispose();
    }
  });

  it('on a backbone without ViT blocks or ConvNeXt stages it is an error naming the key', () => {
    const model = build('model', { type: 'Classification', backbone: { type: 'ResNet', depth: 18, base_width: 4 }, head: { type: 'ClsHead', num_classes: 3 } }) as Module;
    expect(() => build<OptimizerFactory>('optimizer', { type: 'SGD', lr: 0.1, paramwise: { layer_decay: 0.7 } })(model.namedParameters())).toThrow(
      /optimizer\.paramwise\.layer_decay: .*no parameters named backbone\.blocks\.<i> or backbone\.stages\.<s>\.blocks\.<i>.*VisionTransformer or ConvNeXt/,
    );
    model.dispose();
  });
});

describe('FineTune template: frozen stages', () => {
  it('keeps the stem and layer1 (weights and batch-norm statistics) as loaded from a torchvision file while layer2-4 and the new head learn', async () => {
    const weights = t.file('resnet18_w8.safetensors');
    writeForeignWeights(weights, { type: 'Classification', backbone: { type: 'ResNet', depth: 18, base_width: 8 }, head: { type: 'ClsHead', num_classes: 1000 } });
    const images = path.join(root, 'data', 'images-sample');
    const config = t.file('finetune.yaml');
    fs.writeFileSync(
      config,
      `_base_: ${path.join(root, 'templates', 'FineTune.yaml')}
engine: { backend: wasm }
model:
  backbone: { base_width: 8 }
  pretrained: ${weights}
data:
  workers: 0
  train:
    batch_size: 4
    source: { root: ${images} }
    pipeline: [{ type: RandomResizedCrop, size: 32 }, { type: ToTensor }, { type: Normalize }]
  val:
    batch_size: 12
    source: { root: ${images} }
    pipeline: [{ type: Resize, size: 32 }, { type: ToTensor }, { type: Normalize }]
optimizer: { lr: 0.05 }
runner: { max_epochs: 1 }
`,
    );
    expect(checkConfig(config).problems).toEqual([]);
    const result = await train(config, { workDir: t.file('run'), quiet: true });
    expect(result.status).toBe('finished');
    expect(result.iter).toBe(3);
    expect(result.metrics['val/accuracy_top1']).toBeGreaterThanOrEqual(0);

    const loaded = convertToToolkit(readWeights(weights).tensors, resnetMap).tensors;
    const ckpt = readWeights(path.join(result.runDir, 'checkpoints', 'latest.safetensors')).tensors;
    const maxDiff = (name: string) => {
      const a = loaded.get(name)!.values;
      const b = ckpt.get(`model.${name}`)!.values;
      expect(b.length, name).toBe(a.length);
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
      return d;
    };
    const backbone = [...loaded.keys()].filter((k) => k.startsWith('backbone.'));
    const frozen = backbone.filter((k) => /^backbone\.(stem|layer1)\./.test(k));
    const learning = backbone.filter((k) => /^backbone\.layer[234]\./.test(k));
    expect(frozen.some((k) => k.endsWith('.running_mean'))).toBe(true);
    expect(frozen.some((k) => k.endsWith('.running_var'))).toBe(true);
    for (const k of frozen) expect(maxDiff(k), k).toBe(0);
    // Convolutions of the later stages moved, and their batch-norm statistics followed the new data.
    for (const k of learning.filter((n) => n.endsWith('conv1.weight') || n.endsWith('.running_mean'))) expect(maxDiff(k), k).toBeGreaterThan(1e-6);
    // The head is new (3 classes, not the file's 1000) and the EMA shadow is saved with the run.
    expect(ckpt.get('model.head.fc.weight')!.shape).toEqual([64, 3]);
    expect(ckpt.has('hooks.EMAHook.head.fc.weight')).toBe(true);
  }, 120_000);
});

describe('ViT fine-tuning config (layer_decay 0.75)', () => {
  it('trains from timm-named weights, and its first step moves block 0 by 0.75^11 of what it moves block 11', async () => {
    const base = path.join(root, 'configs', 'finetune', 'vit_tiny_mae_imagefolder_96.yaml');
    const weights = t.file('vit_tiny_timm.safetensors');
    writeForeignWeights(weights, { type: 'Classification', backbone: { type: 'VisionTransformer', arch: 'tiny', img_size: 32, patch_size: 8 }, head: { type: 'ClsHead', num_classes: 10 } }, 'timm');
    const images = path.join(root, 'data', 'images-sample');
    const config = t.file('vit_finetune.yaml');
    // 32 px (16 patches) to keep it fast; no stochastic depth: a dropped block would get no
    // gradient and skew the comparison.
    fs.writeFileSync(
      config,
      `_base_: ${base}
engine: { backend: wasm }
model:
  backbone: { img_size: 32, drop_path_rate: 0 }
  pretrained: ${weights}
data:
  workers: 0
  train: { batch_size: 4, source: { root: ${images} }, pipeline: [{ type: RandomResizedCrop, size: 32 }, { type: ToTensor }, { type: Normalize }] }
  val: { batch_size: 12, source: { root: ${images} }, pipeline: [{ type: Resize, size: 32 }, { type: ToTensor }, { type: Normalize }] }
eval_pipelines: []
runner: { max_iters: 1 }
`,
    );
    const result = await train(config, { workDir: t.file('vit-run'), quiet: true });
    expect(result.status).toBe('finished');
    expect(fs.readFileSync(path.join(result.runDir, 'log.txt'), 'utf8')).toMatch(/model\.pretrained: loaded \d+ tensors from .*vit_tiny_timm\.safetensors; missing \(kept as initialised\): none/);
    const loaded = convertToToolkit(readWeights(weights).tensors, mapsForBackbone('VisionTransformer').find((m) => m.formats.includes('timm'))!).tensors;
    const ckpt = readWeights(path.join(result.runDir, 'checkpoints', 'latest.safetensors')).tensors;
    const meanStep = (name: string) => {
      const a = loaded.get(name)!.values;
      const b = ckpt.get(`model.${name}`)!.values;
      let s = 0;
      for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
      return s / a.length;
    };
    // AdamW's first step is lr x multiplier for every element whatever its gradient.
    const ratio = meanStep('backbone.blocks.0.attn.qkv.weight') / meanStep('backbone.blocks.11.attn.qkv.weight');
    expect(ratio).toBeGreaterThan(0.75 ** 11 * 0.95);
    expect(ratio).toBeLessThan(0.75 ** 11 * 1.05);
  }, 120_000);
});

describe('fine-tuning configs', () => {
  const dir = path.join(root, 'configs', 'finetune');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    it(`${file} validates`, () => {
      expect(checkConfig(path.join(dir, file)).problems).toEqual([]);
    });
  }
});
