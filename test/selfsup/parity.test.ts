/**
 * Step parity with PyTorch (issue 22, point 1): for each self-supervised algorithm, one full
 * training step (forward, loss, every gradient, plain SGD, then the momentum/target update and
 * the queue) here and in a PyTorch script written from the paper's pseudocode and the authors'
 * code (test/selfsup/parity/*_reference.py, in float64), from the same initial weights and the
 * same two batches of views; loss, gradients and state after the step agree within 1e-4 relative.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { ensureGradients } from '../../src/engine/gradients';
import { installKernels, WASM_TRAINING_KERNELS } from '../../src/engine/kernels';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { seedInit, seedStep, stepRandom } from '../../src/models/nn';
import type { Algorithm } from '../../src/models/algorithms/types';
import { tempFiles } from '../helpers/tmp';
import { pythonHas } from '../data/python';
import { compare, l2, oneStep, readTensors, runReference, snapshot, writeTensors } from './parity/exchange';

beforeAll(async () => {
  ensureGradients();
  await tf.setBackend('wasm');
  installKernels(WASM_TRAINING_KERNELS);
});

const TOL = 1e-4;
const backbone = { type: 'ResNet', depth: 18, stem: 'cifar', in_channels: 1, base_width: 8 };
/** Fixed batches of 8 already-augmented views of the given sizes (augmentation is bypassed). */
function views(sizes: number[], n = 8): tf.Tensor4D[] {
  return sizes.map((size, v) => tf.randomNormal([n, size, size, 1], 0, 1, 'float32', 100 + v) as tf.Tensor4D);
}

interface Case {
  name: string;
  model: Record<string, unknown>;
  script: string;
  /** Hyper-parameters the reference needs besides the model's (config.json). */
  config: Record<string, unknown>;
  /** The step is 0-based iteration `iter` of `maxIters` (the momentum schedule's position). */
  iter: number;
  maxIters: number;
  /** Sizes of the views (default: two 16x16). */
  sizes?: number[];
  /** Images per batch (default 8). */
  batch?: number;
  /** State the toolkit keeps that the reference has no counterpart for (bookkeeping). */
  toolkitOnly?: string[];
  /** Put the model in the state the step starts from (e.g. a queue pointer mid-way). */
  prepare?: (model: Algorithm) => void;
}

function runCase(c: Case): void {
  const t = tempFiles({});
  try {
    seedInit(3);
    const model = build<Algorithm>('model', c.model);
    c.prepare?.(model);
    const vs = views(c.sizes ?? [16, 16], c.batch);
    writeTensors(t.dir, 'state', snapshot(model));
    writeTensors(t.dir, 'views', new Map(vs.map((v, i) => [String(i), v])));
    const lr = 0.5;
    fs.writeFileSync(path.join(t.dir, 'config.json'), JSON.stringify({ ...c.config, lr, iter: c.iter, max_iters: c.maxIters }));
    const ours = oneStep(model, { views: vs, raw: [] } as never, { type: 'SGD', lr, momentum: 0, weight_decay: 0 }, c.iter, c.maxIters);
    runReference(c.script, t.dir);
    const grads = readTensors(t.dir, 'torch_grads');
    const after = readTensors(t.dir, 'torch_state');

    const loss = after.get('loss')!.data[0];
    expect(Math.abs(ours.loss - loss) / Math.abs(loss)).toBeLessThan(TOL);
    // Tensors that are zero in exact arithmetic (the float64 reference's norm is below 1e-9 of the
    // largest: a bias right before a batch norm, which removes any shift, gets no gradient) hold
    // float32 noise here: they are judged against the largest gradient's norm (the state: 1).
    const largest = Math.max(...[...grads.values()].map((v) => l2(v.data)));
    const g = compare(ours.grads, grads, TOL, { below: 1e-9 * largest, scale: largest });
    expect(g.missing).toEqual([]);
    expect(g.compared).toBe(grads.size);
    expect(g.failures).toEqual([]);
    const s = compare(ours.after, after, TOL, { below: 1e-9, scale: 1 });
    expect(s.missing).toEqual(c.toolkitOnly ?? []);
    expect([...after.keys()].filter((n) => !ours.after.has(n)).sort()).toEqual(['loss', ...(after.has('tau') ? ['tau'] : [])]);
    expect(s.failures).toEqual([]);
    // The step moved the weights (a no-op step would pass the comparison of the state trivially).
    const before = readTensors(t.dir, 'state');
    const moved = [...ours.after].filter(([n, v]) => {
      const b = before.get(n)!.data;
      return (v.dataSync() as Float32Array).some((x, i) => Math.abs(x - b[i]) > 1e-6);
    }).length;
    expect(moved).toBeGreaterThan(ours.after.size / 3);
    console.log(`${c.name}: loss ${ours.loss.toFixed(6)} (torch ${loss.toFixed(6)}); worst relative error: gradients ${g.worst.toExponential(2)} (${g.worstName}), state ${s.worst.toExponential(2)} (${s.worstName}) over ${g.compared} gradients and ${s.compared} tensors`);
    tf.dispose([...vs, ...ours.grads.values(), ...ours.after.values()]);
    model.dispose();
  } finally {
    t.cleanup();
  }
}

const neck = { type: 'NonLinearNeckV2', hid_channels: 32, out_channels: 16 };

/** The noise step `iter`'s masking draws (the same seeded generator, the same order): 8 images x 16 patches. */
function maskNoise(iter: number): number[][] {
  seedStep(0, iter);
  const rng = stepRandom();
  return Array.from({ length: 8 }, () => Array.from({ length: 16 }, () => rng.next()));
}

describe.skipIf(!pythonHas('torch', 'numpy'))('one training step equals PyTorch from the same weights and views', () => {
  it('BYOL: predictor on the online branch only, no gradient into the target, symmetric 2 - 2cos, EMA with the cosine schedule', () => {
    runCase({
      name: 'BYOL',
      model: { type: 'BYOL', backbone, neck, head: { type: 'LatentPredictHead', predictor: { type: 'NonLinearNeckV2', hid_channels: 24 } }, momentum: { base: 0.9, end: 1 } },
      script: 'byol_reference.py',
      config: { backbone, neck, predictor: { hid_channels: 24 }, tau_base: 0.9 },
      iter: 3,
      maxIters: 8,
    });
  });

  it('SimCLR: both views in one batch, NT-Xent over 2N - 1 candidates per anchor', () => {
    const simclrNeck = { type: 'NonLinearNeckSimCLR', hid_channels: 32, out_channels: 16 };
    runCase({
      name: 'SimCLR',
      model: { type: 'SimCLR', backbone, neck: simclrNeck, temperature: 0.2 },
      script: 'simclr_reference.py',
      config: { backbone, neck: { hid_channels: 32, out_channels: 16, with_bias: false, with_last_bn: true, last_bn_affine: false }, temperature: 0.2 },
      iter: 0,
      maxIters: 8,
    });
  });

  it('MoCo v2: key encoder without gradient, EMA, InfoNCE against the queue, keys enqueued at the pointer', () => {
    const mocoNeck = { type: 'NonLinearNeckV1', hid_channels: 32, out_channels: 16 };
    runCase({
      name: 'MoCoV2',
      model: { type: 'MoCoV2', backbone, neck: mocoNeck, queue_len: 32, head: { type: 'ContrastiveHead', temperature: 0.2 }, momentum: { base: 0.9, schedule: 'constant' } },
      script: 'mocov2_reference.py',
      config: { backbone, neck: { hid_channels: 32, out_channels: 16, with_bn: false }, temperature: 0.2, momentum: 0.9 },
      iter: 2,
      maxIters: 8,
      toolkitOnly: ['queue.filled'],
      // Mid-way through the queue, so the keys must land at rows 16-23.
      prepare: (model) => (model as unknown as { queue: { ptr: tf.Variable } }).queue.ptr.assign(tf.scalar(16, 'int32')),
    });
  });

  it('SwAV (multi-crop 2 x 16 + 2 x 8): prototypes normalised, head over all crops, Sinkhorn codes, swapped prediction', () => {
    const swavNeck = { type: 'NonLinearNeckSwav', hid_channels: 32, out_channels: 16 };
    runCase({
      name: 'SwAV',
      model: {
        type: 'SwAV',
        backbone,
        neck: swavNeck,
        head: { type: 'SwAVHead', num_prototypes: 12, temperature: 0.1, epsilon: 0.05, sinkhorn_iterations: 3 },
        num_crops: [2, 2],
        crops_for_assign: [0, 1],
        freeze_prototypes_epochs: 0,
      },
      script: 'swav_reference.py',
      config: { backbone, neck: { hid_channels: 32, out_channels: 16 }, num_prototypes: 12, temperature: 0.1, epsilon: 0.05, sinkhorn_iterations: 3, crops_for_assign: [0, 1] },
      sizes: [16, 16, 8, 8],
      iter: 0,
      maxIters: 8,
    });
  });

  it('DINO (ResNet, multi-crop 2 x 16 + 2 x 8): teacher on the global crops, centring and sharpening, EMA teacher, centre update', () => {
    const head = { type: 'DINOHead', out_channels: 24, hid_channels: 32, bottleneck_channels: 16, num_layers: 3, use_bn: true };
    runCase({
      name: 'DINO',
      model: {
        type: 'DINO',
        backbone,
        head,
        warmup_teacher_temp: 0.04,
        teacher_temp: 0.07,
        warmup_teacher_temp_epochs: 5,
        student_temp: 0.1,
        center_momentum: 0.9,
        freeze_last_layer_epochs: 0,
        momentum: { base: 0.9, end: 1 },
      },
      script: 'dino_reference.py',
      // The first step (epoch 0) of the warm-up: tau_t = warmup_teacher_temp in both schedules.
      config: { backbone, head, teacher_temp: 0.04, student_temp: 0.1, center_momentum: 0.9, momentum_base: 0.9 },
      sizes: [16, 16, 8, 8],
      iter: 0,
      maxIters: 8,
    });
  });

  it('MAE: the same masks (from the toolkit\'s noise), encoder on the kept patches, decoder, normalised-pixel loss on the removed ones', () => {
    const vit = { type: 'VisionTransformer', arch: 'custom', img_size: 16, patch_size: 4, in_channels: 1, embed_dim: 16, depth: 2, num_heads: 2, mlp_ratio: 4, drop_path_rate: 0 };
    const neck = { type: 'MAENeck', decoder_embed_dim: 16, decoder_depth: 1, decoder_num_heads: 2, mlp_ratio: 4 };
    const iter = 1;
    const noise = maskNoise(iter);
    runCase({
      name: 'MAE',
      // 0.7 of 16 patches: 4.8 kept patches, which the reference truncates to 4.
      model: { type: 'MAE', backbone: vit, neck, mask_ratio: 0.7, norm_pix_loss: true },
      script: 'mae_reference.py',
      config: { backbone: vit, neck, mask_ratio: 0.7, norm_pix_loss: true, noise },
      sizes: [16],
      iter,
      maxIters: 8,
    });
  });

  it('FCMAE: the same masks (from the toolkit\'s noise), the encoder on the visible sites only (GRN too), decoder, normalised-pixel loss on the hidden patches', () => {
    // Stride 4 (a 2x2 stem, one downsampling): 16x16 views are a 4x4 grid of patches.
    const convnext = { type: 'ConvNeXt', arch: 'custom', depths: [1, 1], dims: [8, 16], patch_size: 2, in_channels: 1, drop_path_rate: 0, use_grn: true };
    const iter = 2;
    const noise = maskNoise(iter);
    runCase({
      name: 'FCMAE',
      // 0.6 of 16 patches: 6.4 visible, which the reference truncates to 6.
      model: { type: 'FCMAE', backbone: convnext, decoder_embed_dim: 16, mask_ratio: 0.6, norm_pix_loss: true },
      script: 'fcmae_reference.py',
      config: { backbone: convnext, decoder_embed_dim: 16, decoder_depth: 1, mask_ratio: 0.6, norm_pix_loss: true, noise },
      sizes: [16],
      iter,
      maxIters: 8,
      // The classifier's final norm: fine-tuning's, not the pre-training encoder's (the sparse encoder has none).
      toolkitOnly: ['backbone.norm.weight', 'backbone.norm.bias'],
      // GRN starts as the identity; random weights make its visible-only norms count.
      prepare: (model) => {
        for (const [name, p] of model.namedParameters()) if (name.includes('.grn.')) p.variable.assign(tf.randomUniform(p.variable.shape, 0.5, 1.5, 'float32', 11));
      },
    });
  });

  it('MoBY (ViT): each view its own pass, predictor, EMA key encoder, InfoNCE against the other view\'s queue, both queues', () => {
    // Mean-pooled patch tokens: an untrained ViT's class tokens barely differ between images, and
    // the projector's batch norm would blow their float32 rounding up to the size of the tolerance.
    const vit = { type: 'VisionTransformer', arch: 'custom', img_size: 16, patch_size: 4, in_channels: 1, embed_dim: 16, depth: 2, num_heads: 2, mlp_ratio: 4, drop_path_rate: 0, output: 'avg_pool' };
    const neck = { type: 'NonLinearNeckV2', hid_channels: 32, out_channels: 16 };
    runCase({
      name: 'MoBY',
      model: {
        type: 'MoBY',
        backbone: vit,
        neck,
        predictor: { type: 'LatentPredictHead', predictor: { type: 'NonLinearNeckV2', hid_channels: 24 } },
        head: { type: 'ContrastiveHead', temperature: 0.2 },
        queue_len: 32,
        momentum: { base: 0.9, end: 1 },
      },
      script: 'moby_reference.py',
      config: { backbone: vit, neck, predictor: { hid_channels: 24 }, temperature: 0.2, momentum_base: 0.9 },
      iter: 2,
      maxIters: 8,
      batch: 16,
      toolkitOnly: ['queue1.filled', 'queue2.filled'],
      prepare: (model) => {
        const m = model as unknown as { queue1: { ptr: tf.Variable }; queue2: { ptr: tf.Variable } };
        m.queue1.ptr.assign(tf.scalar(8, 'int32'));
        m.queue2.ptr.assign(tf.scalar(16, 'int32'));
      },
    });
  });
});
