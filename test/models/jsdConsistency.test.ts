/**
 * AugMix's consistency loss as timm's JsdCrossEntropy (PyTorch computing timm's formula on the same
 * logits), Classification's step with it against the loss assembled from each view's predictions,
 * and MultiViewDataset's shared_pipeline (every view starts from one crop).
 */
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/builtins';
import { initEngine } from '../../src/engine';
import { buildModel } from '../../src/models/buildModel';
import type { Algorithm, TensorBatch } from '../../src/models/algorithms/types';
import { jensenShannon } from '../../src/models/algorithms/jsdConsistency';
import { createLoader } from '../../src/data/loader';
import { Random } from '../../src/core/random';
import { pythonHas, runPython } from '../data/python';
import { ROOT } from '../export/helpers';

const PROGRESS = { iter: 0, epoch: 0, maxIters: 1, itersPerEpoch: 1 };

/** A step's batch of these views and labels (the raw batch unused by Classification). */
const tensorBatch = (views: tf.Tensor4D[], labels: tf.Tensor1D): TensorBatch => ({ views, labels, raw: { views: [], indices: new Int32Array(0) } });

function randomLogits(seed: number, n = 4, k = 5): number[][] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => Array.from({ length: k }, () => rng.normal(0, 2)));
}

describe.skipIf(!pythonHas('torch'))("the consistency loss against timm's JsdCrossEntropy", () => {
  it('equals its Jensen-Shannon term and, with cross-entropy on the clean view (label smoothing 0.1), its loss', async () => {
    await initEngine({ backend: 'cpu' });
    const logits = [randomLogits(1), randomLogits(2), randomLogits(3)];
    const labels = [0, 3, 1, 4];
    const torch = JSON.parse(
      runPython(
        `import json, sys, torch, torch.nn.functional as F
d = json.loads(sys.stdin.read()); logits = [torch.tensor(x, dtype=torch.float64) for x in d['logits']]
probs = [F.softmax(l, dim=1) for l in logits]
logp_mixture = torch.clamp(torch.stack(probs).mean(axis=0), 1e-7, 1).log()
js = sum([F.kl_div(logp_mixture, p, reduction='batchmean') for p in probs]) / len(probs)
ce = F.cross_entropy(logits[0], torch.tensor(d['labels']), label_smoothing=0.1)
print(json.dumps({'js': js.item(), 'loss': (ce + 12 * js).item()}))`,
        [],
        JSON.stringify({ logits, labels }),
      ),
    ) as { js: number; loss: number };
    const js = jensenShannon(logits.map((l) => tf.tensor2d(l)));
    expect(js.dataSync()[0]).toBeCloseTo(torch.js, 5);
    expect(torch.js).toBeGreaterThan(0.05);

    // Classification's step with it (its head's label smoothing, alpha 12) on three views of a tiny ViT.
    const model = buildModel({ type: 'Classification', backbone: { type: 'VisionTransformer', img_size: 8, patch_size: 4, in_channels: 1, embed_dim: 8, depth: 1, num_heads: 2 }, head: { type: 'ClsHead', num_classes: 5, label_smoothing: 0.1 }, jsd_loss: {} }, { purpose: 'train', seed: 0 }) as Algorithm;
    const views = logits.map((_, i) => tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 7 + i) as tf.Tensor4D);
    const step = model.trainStep(tensorBatch(views, tf.tensor1d(labels, 'int32')), PROGRESS);
    // Assembled from the model's own predictions of each view (layer norms are per sample: one batch or three, the same logits).
    const each = views.map((v) => model.predict!(v));
    const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 5), each[0], undefined, 0.1);
    expect(step.loss.dataSync()[0]).toBeCloseTo(ce.dataSync()[0] + 12 * jensenShannon(each).dataSync()[0], 4);
    expect(step.logs?.accuracy).toBeDefined();
  });
});

describe('model.jsd_loss', () => {
  const build = (extra: Record<string, unknown>) => buildModel({ type: 'Classification', backbone: { type: 'VisionTransformer', img_size: 8, patch_size: 4, in_channels: 1, embed_dim: 8, depth: 1, num_heads: 2 }, head: { type: 'ClsHead', num_classes: 3 }, ...extra }, { purpose: 'train', seed: 0 }) as Algorithm;

  it('refuses one view, views of different sizes, and mixup beside it', async () => {
    await initEngine({ backend: 'cpu' });
    const model = build({ jsd_loss: {} });
    const labels = tf.tensor1d([0, 1], 'int32');
    expect(() => model.trainStep(tensorBatch([tf.zeros([2, 8, 8, 1]) as tf.Tensor4D], labels), PROGRESS)).toThrow('model.jsd_loss compares views of each image, but the training data gives one: use a MultiViewDataset');
    expect(() => model.trainStep(tensorBatch([tf.zeros([2, 8, 8, 1]) as tf.Tensor4D, tf.zeros([2, 4, 4, 1]) as tf.Tensor4D], labels), PROGRESS)).toThrow('they have different sizes (8x8x1 and 4x4x1)');
    expect(() => build({ jsd_loss: {}, mixup: {} })).toThrow('model.jsd_loss and model.mixup: one or the other');
  });

  it("MultiViewDataset's shared_pipeline crops once: a mirrored view is the clean view mirrored", async () => {
    const dataset = {
      type: 'MultiViewDataset',
      batch_size: 4,
      shuffle: false,
      source: { type: 'FashionMNIST', root: path.join(ROOT, 'data/fashion-mnist-sample'), subset: 'train' },
      shared_pipeline: [{ type: 'RandomResizedCrop', size: 12, scale: [0.2, 0.5] }],
      views: [{ pipeline: [{ type: 'ToTensor' }] }, { pipeline: [{ type: 'RandomHorizontalFlip', p: 1 }, { type: 'ToTensor' }] }, { pipeline: [{ type: 'ToTensor' }] }],
    };
    const loader = await createLoader({ dataset, data: { workers: 0, prefetch: 1, skip_corrupt: false }, split: 'train', seed: 3 });
    let batch;
    for await (const b of loader.epoch(0)) {
      batch = b;
      break;
    }
    await loader.close();
    const [clean, mirrored, again] = batch!.views.map((v) => v.data);
    expect(Array.from(again)).toEqual(Array.from(clean));
    for (let i = 0; i < clean.length; i++) {
      const [s, y, x] = [Math.floor(i / 144), Math.floor((i % 144) / 12), i % 12];
      expect(mirrored[s * 144 + y * 12 + (11 - x)]).toBe(clean[i]);
    }
    // Different images got different crops: not one crop for the batch.
    expect(Array.from(clean.subarray(0, 144))).not.toEqual(Array.from(clean.subarray(144, 288)));
    await expect(createLoader({ dataset: { ...dataset, shared_pipeline: [{ type: 'MixUp' }] }, data: { workers: 0, prefetch: 1, skip_corrupt: false }, split: 'train', seed: 3 })).rejects.toThrow("shared_pipeline: MixUp mixes other images into one view; put it in a view's pipeline");
  });
});
