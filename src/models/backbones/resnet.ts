/**
 * ResNet (He et al., Deep Residual Learning for Image Recognition, CVPR 2016, arXiv:1512.03385).
 *
 * Depths 18/34 use basic blocks, 50/101/152 bottlenecks (stride on the 3x3 convolution, as in
 * torchvision's "ResNet v1.5"). The `cifar` stem (one 3x3 convolution, no max-pool) keeps small
 * images (28x28, 32x32) from shrinking to nothing before the first stage.
 *
 * `output_stride` 16 or 8 keeps the last one or two stages at the resolution before them and
 * dilates their 3x3 convolutions instead (by 2, and 2 then 4), as DeepLab (Chen et al.,
 * arXiv:1706.05587) and mmsegmentation's segmentation backbones do: dense features for
 * segmentation heads, the same weights (a classification checkpoint loads unchanged).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { Layer, Module, Sequential } from '../nn/module';
import { BatchNorm, Conv2d, ConvBnAct, MaxPool2d } from '../nn/layers';
import type { Backbone } from './types';

export const resnetParams = z.strictObject({
  depth: z.literal([18, 34, 50, 101, 152]).default(18).describe('Number of layers: 18 and 34 use basic blocks, 50, 101 and 152 bottlenecks'),
  stem: z.enum(['imagenet', 'cifar']).default('imagenet').describe('imagenet: 7x7/2 conv + 3x3/2 max-pool; cifar: one 3x3/1 conv, for images of 32x32 or less'),
  in_channels: z.number().int().min(1).default(3).describe('Channels of the input images; when left out, training uses the channels of its data (1 for Fashion-MNIST)'),
  base_width: z.number().int().min(1).default(64).describe('Channels of the first stage; each later stage doubles them'),
  out_indices: z.array(z.number().int().min(0).max(3)).min(1).default([3]).describe('Stages (0-3) whose feature maps are returned, for necks and heads'),
  frozen_stages: z.number().int().min(-1).max(4).default(-1).describe('Stages whose weights are frozen (0 = the stem, -1 = none)'),
  zero_init_residual: z.boolean().default(false).describe('Start the last norm of each block at zero so blocks begin as identities'),
  output_stride: z.literal([8, 16, 32]).default(32).describe('Input size over the last feature map: 16 or 8 replace the strides of the last stages by dilations (segmentation)'),
});

/** Stride and dilation of stages 1-4 for an output stride (mmsegmentation's strides/dilations). */
export function stageGeometry(outputStride: 8 | 16 | 32): { strides: number[]; dilations: number[] } {
  if (outputStride === 8) return { strides: [1, 2, 1, 1], dilations: [1, 1, 2, 4] };
  if (outputStride === 16) return { strides: [1, 2, 2, 1], dilations: [1, 1, 1, 2] };
  return { strides: [1, 2, 2, 2], dilations: [1, 1, 1, 1] };
}

export type ResNetParams = z.output<typeof resnetParams>;

const STAGES: Record<ResNetParams['depth'], { block: 'basic' | 'bottleneck'; blocks: number[] }> = {
  18: { block: 'basic', blocks: [2, 2, 2, 2] },
  34: { block: 'basic', blocks: [3, 4, 6, 3] },
  50: { block: 'bottleneck', blocks: [3, 4, 6, 3] },
  101: { block: 'bottleneck', blocks: [3, 4, 23, 3] },
  152: { block: 'bottleneck', blocks: [3, 8, 36, 3] },
};

/** 1x1 convolution + norm that matches the shortcut to a block's output shape. */
class Downsample extends Layer<tf.Tensor4D, tf.Tensor4D> {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm;

  constructor(inC: number, outC: number, stride: number) {
    super();
    this.conv = this.child('0', new Conv2d(inC, outC, 1, { stride, padding: 0 }));
    this.bn = this.child('1', new BatchNorm(outC));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.bn.forward(this.conv.forward(x)) as tf.Tensor4D;
  }
}

/** Two 3x3 convolutions with a shortcut (ResNet-18/34). */
class BasicBlock extends Layer<tf.Tensor4D, tf.Tensor4D> {
  static readonly expansion = 1;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly downsample?: Downsample;

  constructor(inC: number, width: number, stride: number, zeroInit: boolean, dilation = 1) {
    super();
    // mmsegmentation dilates only the first 3x3 convolution of a basic block.
    this.conv1 = this.child('conv1', new Conv2d(inC, width, 3, { stride, dilation }));
    this.bn1 = this.child('bn1', new BatchNorm(width));
    this.conv2 = this.child('conv2', new Conv2d(width, width, 3));
    this.bn2 = this.child('bn2', new BatchNorm(width, { zeroInit }));
    if (stride !== 1 || inC !== width) this.downsample = this.child('downsample', new Downsample(inC, width, stride));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const out = this.bn1.forwardActivated(this.conv1.forward(x), 'relu') as tf.Tensor4D;
    const y = this.bn2.forward(this.conv2.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return tf.relu(tf.add(y, identity)) as tf.Tensor4D;
  }
}

/** 1x1 reduce, 3x3 (strided), 1x1 expand by 4, with a shortcut (ResNet-50). */
class Bottleneck extends Layer<tf.Tensor4D, tf.Tensor4D> {
  static readonly expansion = 4;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly conv3: Conv2d;
  private readonly bn3: BatchNorm;
  private readonly downsample?: Downsample;

  constructor(inC: number, width: number, stride: number, zeroInit: boolean, dilation = 1) {
    super();
    const outC = width * Bottleneck.expansion;
    this.conv1 = this.child('conv1', new Conv2d(inC, width, 1, { padding: 0 }));
    this.bn1 = this.child('bn1', new BatchNorm(width));
    this.conv2 = this.child('conv2', new Conv2d(width, width, 3, { stride, dilation }));
    this.bn2 = this.child('bn2', new BatchNorm(width));
    this.conv3 = this.child('conv3', new Conv2d(width, outC, 1, { padding: 0 }));
    this.bn3 = this.child('bn3', new BatchNorm(outC, { zeroInit }));
    if (stride !== 1 || inC !== outC) this.downsample = this.child('downsample', new Downsample(inC, outC, stride));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    let out = this.bn1.forwardActivated(this.conv1.forward(x), 'relu') as tf.Tensor4D;
    out = this.bn2.forwardActivated(this.conv2.forward(out), 'relu') as tf.Tensor4D;
    const y = this.bn3.forward(this.conv3.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return tf.relu(tf.add(y, identity)) as tf.Tensor4D;
  }
}

class Stem extends Layer<tf.Tensor4D, tf.Tensor4D> {
  private readonly unit: ConvBnAct;
  private readonly pool?: MaxPool2d;

  constructor(kind: 'imagenet' | 'cifar', inC: number, outC: number) {
    super();
    this.unit = this.child('0', kind === 'imagenet' ? new ConvBnAct(inC, outC, 7, { stride: 2, padding: 3 }) : new ConvBnAct(inC, outC, 3, { stride: 1, padding: 1 }));
    if (kind === 'imagenet') this.pool = new MaxPool2d(3, 2, 1);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.unit.forward(x);
    return this.pool ? this.pool.forward(y) : y;
  }
}

export class ResNet extends Module implements Backbone {
  readonly outChannels: number[];
  readonly inChannels: number;
  /** Channels of the last stage (the usual feature size: 512 for 18/34, 2048 for 50/101/152, at base width 64). */
  readonly featureChannels: number;
  private readonly stem: Stem;
  private readonly stages: Sequential[] = [];

  constructor(readonly params: ResNetParams) {
    super();
    const { block, blocks } = STAGES[params.depth];
    const expansion = block === 'basic' ? BasicBlock.expansion : Bottleneck.expansion;
    const w = params.base_width;
    this.inChannels = params.in_channels;
    this.stem = this.child('stem', new Stem(params.stem, params.in_channels, w));
    let inC = w;
    const stageChannels: number[] = [];
    const { strides, dilations } = stageGeometry(params.output_stride);
    blocks.forEach((n, s) => {
      const width = w * 2 ** s;
      const layers: Layer[] = [];
      for (let b = 0; b < n; b++) {
        const stride = b === 0 ? strides[s] : 1;
        const d = dilations[s];
        layers.push(block === 'basic' ? new BasicBlock(inC, width, stride, params.zero_init_residual, d) : new Bottleneck(inC, width, stride, params.zero_init_residual, d));
        inC = width * expansion;
      }
      this.stages.push(this.child(`layer${s + 1}`, new Sequential(layers)));
      stageChannels.push(inC);
    });
    this.featureChannels = inC;
    this.outChannels = params.out_indices.map((i) => stageChannels[i]);
    if (params.frozen_stages >= 0) this.stem.freeze();
    for (let s = 1; s <= params.frozen_stages && s <= 4; s++) this.stages[s - 1].freeze();
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    let y = this.stem.forward(x);
    const outs: tf.Tensor4D[] = [];
    this.stages.forEach((stage, i) => {
      y = stage.forward(y) as tf.Tensor4D;
      if (this.params.out_indices.includes(i)) outs.push(y);
    });
    return outs;
  }

  override train(mode = true): this {
    super.train(mode);
    // Frozen stages keep their batch-norm statistics fixed, as in mmcls/EasyCV.
    if (mode && this.params.frozen_stages >= 0) {
      this.stem.train(false);
      for (let s = 1; s <= this.params.frozen_stages && s <= 4; s++) this.stages[s - 1].train(false);
    }
    return this;
  }
}

register('backbone', {
  type: 'ResNet',
  description: 'Residual network with basic (18, 34) or bottleneck (50, 101, 152) blocks',
  paper: 'He et al., Deep Residual Learning for Image Recognition, CVPR 2016, arXiv:1512.03385',
  params: resnetParams,
  build: (p) => new ResNet(p),
});
