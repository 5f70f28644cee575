/**
 * The models of the training-throughput benchmark (bench/engine/models.ts): each a toolkit backbone
 * config (with ClsHead, 10 classes: bench/engine/trainStep.ts), its input size, and the PyTorch
 * script next to this file that builds the same architecture for the reference run.
 */
import * as path from 'node:path';

export interface BenchModel {
  /** What the tables call it. */
  title: string;
  /** The backbone's registry config. */
  backbone: Record<string, unknown>;
  /** Side of the square RGB input. */
  imageSize: number;
  /** The PyTorch peer, run with Debian's /usr/bin/python3. */
  torchScript: string;
  /** Most of a step is matrix products, which PyTorch runs on the system's BLAS (convolutions: on its own oneDNN). */
  matrixProducts: boolean;
}

export const BENCH_MODELS = {
  /** CIFAR-style ResNet-18: 3x3/1 stem, no max-pool (issue 24, the first comparison). */
  resnet18: {
    title: 'ResNet-18 (CIFAR stem), 32x32',
    backbone: { type: 'ResNet', depth: 18, stem: 'cifar', in_channels: 3 },
    imageSize: 32,
    torchScript: path.join(__dirname, 'resnet18_torch.py'),
    matrixProducts: false,
  },
  /** MobileNetV2 width 1.0, stem stride 1 (the toolkit's option for 32x32 images): depthwise 3x3 convolutions, ReLU6. */
  mobilenetv2: {
    title: 'MobileNetV2 (width 1.0, stem stride 1), 32x32',
    backbone: { type: 'MobileNetV2', width_mult: 1, stem_stride: 1, in_channels: 3 },
    imageSize: 32,
    torchScript: path.join(__dirname, 'mobilenetv2_torch.py'),
    matrixProducts: false,
  },
  /**
   * ViT-S (embed 384, depth 12, 6 heads, MLP ratio 4) with 4x4 patches at 32x32: 64 patch tokens
   * and the class token; the toolkit's defaults otherwise (query/key/value biases, exact GELU,
   * LayerNorm eps 1e-6, stochastic depth up to 0.1, the class token's feature to the head).
   */
  'vit-s': {
    title: 'ViT-S/4 (384 wide, 12 blocks, 6 heads, 65 tokens), 32x32',
    backbone: { type: 'VisionTransformer', arch: 'small', img_size: 32, patch_size: 4, mlp_ratio: 4, qkv_bias: true, drop_path_rate: 0.1, output: 'cls_token', in_channels: 3 },
    imageSize: 32,
    torchScript: path.join(__dirname, 'vit_torch.py'),
    matrixProducts: true,
  },
  /**
   * ConvNeXt-T (96-768 wide, depths 3-3-9-3) at 64x64 with its 4x4/4 stem: maps of 16, 8, 4 and 2.
   * 7x7 depthwise convolutions, layer norm over NHWC maps and MLPs: PyTorch runs the MLPs' Linear
   * layers on the system's BLAS.
   */
  'convnext-t': {
    title: 'ConvNeXt-T (96-768 wide, depths 3-3-9-3, stem 4x4/4), 64x64',
    backbone: { type: 'ConvNeXt', arch: 'tiny', drop_path_rate: 0.1, in_channels: 3 },
    imageSize: 64,
    torchScript: path.join(__dirname, 'convnext_torch.py'),
    matrixProducts: true,
  },
} satisfies Record<string, BenchModel>;

export type BenchModelName = keyof typeof BENCH_MODELS;

/** The model called `name`, or an error that lists the known ones. */
export function benchModel(name: string): BenchModel {
  if (!Object.hasOwn(BENCH_MODELS, name)) throw new Error(`--model ${name}: unknown model; expected one of ${Object.keys(BENCH_MODELS).join(', ')}`);
  return BENCH_MODELS[name as BenchModelName];
}
