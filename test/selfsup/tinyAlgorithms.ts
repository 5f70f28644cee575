/**
 * Tiny configurations of the eight self-supervised algorithms on 8x8 single-channel views, and the
 * runner's step loop: shared by algorithms.test.ts (learning on wasm) and
 * test/engine/webgpuSelfsup.test.ts (the same steps on the webgpu engine).
 */
import * as tf from '@tensorflow/tfjs-core';
import { build } from '../../src/core/registry';
import { seedStep } from '../../src/models/nn';
import type { Algorithm, TensorBatch } from '../../src/models/algorithms/types';
import type { OptimizerFactory } from '../../src/train/optimizers/optimizer';
import type { RunnerApi, IterOutput } from '../../src/train/hook';

const tinyResNet = { type: 'ResNet', depth: 18, stem: 'cifar', in_channels: 1, base_width: 4 };
const tinyViT = { type: 'VisionTransformer', arch: 'custom', embed_dim: 16, depth: 2, num_heads: 2, img_size: 8, patch_size: 2, in_channels: 1, drop_path_rate: 0.1 };
const tinySwin = { type: 'SwinTransformer', arch: 'custom', embed_dim: 8, depths: [2, 2], num_heads: [1, 2], patch_size: 2, in_channels: 1, window_size: 2, drop_path_rate: 0.1 };

/** Views of a fixed batch: the same images with fixed small perturbations per view. */
export function views(sizes: number[], n = 8, seed = 1): tf.Tensor4D[] {
  const base = tf.randomUniform([n, 8, 8, 1], 0, 1, 'float32', seed);
  return sizes.map((s, v) => {
    const noisy = tf.add(base, tf.randomNormal([n, 8, 8, 1], 0, 0.1, 'float32', seed + 10 + v));
    return (s === 8 ? noisy : tf.image.resizeBilinear(noisy as tf.Tensor4D, [s, s])) as tf.Tensor4D;
  });
}

/**
 * A few optimizer steps as the runner takes them (seeded step randomness, trainable variables only,
 * hooks after each step). The loss is read asynchronously, as the runner does: the webgpu engine
 * has no synchronous read in Node.
 */
export async function trainSteps(model: Algorithm, batch: TensorBatch, optimizer: Record<string, unknown>, steps: number, afterStep?: (i: number) => void): Promise<number[]> {
  const opt = build<OptimizerFactory>('optimizer', optimizer)(model.namedParameters());
  const hooks = model.hooks?.() ?? [];
  const losses: number[] = [];
  const runner = { maxIters: steps, itersPerEpoch: 2, epoch: 0, iter: 0, optimizer: opt } as unknown as RunnerApi & { iter: number; epoch: number };
  for (const h of hooks) h.beforeRun?.(runner);
  for (let i = 0; i < steps; i++) {
    runner.iter = i;
    runner.epoch = Math.floor(i / 2);
    for (const h of hooks) h.beforeIter?.(runner);
    seedStep(0, i);
    const progress = { iter: i, epoch: runner.epoch, maxIters: steps, itersPerEpoch: 2 };
    const { value, grads } = tf.variableGrads(() => model.trainStep(batch, progress).loss, model.trainableVariables());
    losses.push((await value.data())[0]);
    opt.step(grads, (optimizer.lr as number) ?? 0.01);
    tf.dispose([value, ...Object.values(grads)]);
    runner.iter = i + 1;
    const out: IterOutput = { loss: losses[i], logs: {}, samples: 8, lr: 0.01, seconds: 0, dataSeconds: 0 };
    for (const h of hooks) h.afterIter?.(runner, out);
    afterStep?.(i);
  }
  return losses;
}

export const cases: Array<{ name: string; model: Record<string, unknown>; sizes: number[]; optimizer: Record<string, unknown>; steps: number }> = [
  {
    name: 'SimCLR',
    model: { type: 'SimCLR', backbone: tinyResNet, neck: { type: 'NonLinearNeckSimCLR', hid_channels: 16, out_channels: 8 }, temperature: 0.5 },
    sizes: [8, 8],
    optimizer: { type: 'LARS', lr: 0.5, weight_decay: 1e-6 },
    steps: 8,
  },
  {
    name: 'MoCoV2',
    model: { type: 'MoCoV2', backbone: tinyResNet, neck: { type: 'NonLinearNeckV1', hid_channels: 16, out_channels: 8 }, queue_len: 1024 },
    sizes: [8, 8],
    optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 },
    steps: 8,
  },
  {
    name: 'BYOL',
    model: { type: 'BYOL', backbone: tinyResNet, neck: { type: 'NonLinearNeckV2', hid_channels: 16, out_channels: 8 }, head: { type: 'LatentPredictHead', predictor: { type: 'NonLinearNeckV2', hid_channels: 16 } }, momentum: { base: 0.9 } },
    sizes: [8, 8],
    optimizer: { type: 'LARS', lr: 0.3 },
    steps: 8,
  },
  {
    name: 'SwAV',
    model: { type: 'SwAV', backbone: tinyResNet, neck: { type: 'NonLinearNeckSwav', hid_channels: 16, out_channels: 8 }, head: { type: 'SwAVHead', num_prototypes: 6 }, num_crops: [2, 2], freeze_prototypes_epochs: 1 },
    sizes: [8, 8, 4, 4],
    optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 },
    steps: 8,
  },
  {
    name: 'MoBY (Swin)',
    model: { type: 'MoBY', backbone: tinySwin, neck: { type: 'NonLinearNeckV2', hid_channels: 16, out_channels: 8 }, predictor: { type: 'LatentPredictHead', predictor: { type: 'NonLinearNeckV2', hid_channels: 16 } }, queue_len: 1024 },
    sizes: [8, 8],
    optimizer: { type: 'AdamW', lr: 3e-3, weight_decay: 0.05 },
    steps: 8,
  },
  {
    name: 'DINO (ViT, multi-crop)',
    model: { type: 'DINO', backbone: tinyViT, head: { type: 'DINOHead', hid_channels: 16, bottleneck_channels: 8, out_channels: 32 }, warmup_teacher_temp_epochs: 2, freeze_last_layer_epochs: 1 },
    sizes: [8, 8, 4, 4],
    optimizer: { type: 'AdamW', lr: 5e-3, weight_decay: 0.04 },
    steps: 8,
  },
  {
    name: 'MAE',
    model: { type: 'MAE', backbone: tinyViT, neck: { type: 'MAENeck', decoder_embed_dim: 16, decoder_depth: 1, decoder_num_heads: 2 } },
    sizes: [8],
    optimizer: { type: 'AdamW', lr: 5e-3, weight_decay: 0.05 },
    steps: 10,
  },
  {
    name: 'FCMAE (ConvNeXt V2)',
    // Stride 4 (a 2x2 stem, one downsampling): 8x8 views are a 2x2 grid of patches.
    model: { type: 'FCMAE', backbone: { type: 'ConvNeXt', arch: 'custom', depths: [1, 1], dims: [8, 16], patch_size: 2, in_channels: 1, drop_path_rate: 0, use_grn: true }, decoder_embed_dim: 16 },
    sizes: [8],
    optimizer: { type: 'AdamW', lr: 5e-3, weight_decay: 0.05 },
    steps: 10,
  },
];
