/**
 * One training step of a toolkit model on an engine: loss and every trainable parameter's
 * gradient, read back asynchronously (the webgpu engine has no synchronous read in Node).
 * Shared by modelsOnEngines.test.ts (wasm, wasm-ort) and webgpu.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { initEngine, type EngineName } from '../../src/engine';
import { seedInit } from '../../src/models/nn/init';
import { seedStep } from '../../src/models/nn/stepRandom';
import type { Algorithm, TensorBatch } from '../../src/models/algorithms/types';
import { randomValues } from './kernelHarness';

/**
 * MobileNetV2 steps in eval mode (batch norm with running statistics): at 16x16 its last stages
 * are 1x1 pixels, and batch statistics over 4 values make the step so ill-conditioned (gradients
 * near 1,000) that float32 summation order alone moves them by 0.7%. In eval mode its gradients
 * agree to 1e-6; training-mode batch norm is covered by ResNet here and by batchNorm.test.ts.
 */
export const BACKBONES: Record<string, { backbone: Record<string, unknown>; train: boolean }> = {
  ResNet: { backbone: { type: 'ResNet', depth: 18, stem: 'cifar', base_width: 4, in_channels: 3 }, train: true },
  MobileNetV2: { backbone: { type: 'MobileNetV2', width_mult: 0.35, stem_stride: 1, in_channels: 3 }, train: false },
  VisionTransformer: { backbone: { type: 'VisionTransformer', arch: 'custom', embed_dim: 32, depth: 2, num_heads: 2, img_size: 16, patch_size: 4, drop_path_rate: 0, in_channels: 3 }, train: true },
  SwinTransformer: { backbone: { type: 'SwinTransformer', arch: 'custom', embed_dim: 8, depths: [2, 2], num_heads: [1, 2], patch_size: 2, window_size: 2, drop_path_rate: 0, in_channels: 3 }, train: true },
  // Layer scale started at 1, not 1e-6: the blocks' gradients then weigh in the comparison.
  ConvNeXt: { backbone: { type: 'ConvNeXt', arch: 'custom', depths: [1, 2], dims: [8, 16], patch_size: 2, drop_path_rate: 0, layer_scale_init_value: 1, in_channels: 3 }, train: true },
  // V2: GRN after each MLP's GELU.
  'ConvNeXt V2': { backbone: { type: 'ConvNeXt', arch: 'custom', depths: [1, 1], dims: [8, 16], patch_size: 2, drop_path_rate: 0, use_grn: true, in_channels: 3 }, train: true },
};

export async function modelStep(engine: EngineName, backbone: Record<string, unknown>, train: boolean, size = 16): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  await initEngine({ backend: engine === 'tfjs-node' || engine === 'tfjs-node-gpu' ? 'tensorflow' : engine });
  seedInit(11);
  const model = build<Algorithm>('model', { type: 'Classification', backbone, head: { type: 'ClsHead', num_classes: 5 } });
  model.train(train);
  // ConvNeXt V2's GRNs start as the identity, which would leave their normalisation out of the gradients.
  for (const [name, p] of model.namedParameters()) if (name.includes('.grn.')) p.variable.assign(tf.linspace(0.5, 1.5, p.variable.size));
  const shape = [4, size, size, 3];
  const images = tf.tensor4d(randomValues(shape, 21) as Float32Array, shape as [number, number, number, number]);
  const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
  const batch: TensorBatch = { views: [images], labels, raw: { views: [], indices: new Int32Array(4) } };
  seedStep(3, 0);
  const named = model.namedParameters().filter(([, p]) => p.variable.trainable);
  const { value, grads } = tf.variableGrads(() => model.trainStep(batch, { iter: 0, epoch: 0, maxIters: 1, itersPerEpoch: 1 }).loss, named.map(([, p]) => p.variable));
  const out = new Map<string, Float32Array>();
  for (const [name, p] of named) out.set(name, Float32Array.from(await grads[p.variable.name].data()));
  const loss = (await value.data())[0];
  tf.dispose([value, images, labels, ...Object.values(grads)]);
  model.dispose();
  return { loss, grads: out };
}
