/**
 * ConvNeXt (Liu et al., A ConvNet for the 2020s, CVPR 2022, arXiv:2201.03545): a ResNet
 * modernised towards the Swin Transformer. A patchify stem (a 4x4 convolution of stride 4, then
 * layer norm); four stages of blocks that each run a 7x7 depthwise convolution, layer norm over the
 * channels, an inverted MLP (4x wide, GELU) and a learned per-channel scale (layer scale, started at
 * 1e-6) on the residual branch, with stochastic depth; between stages, layer norm and a 2x2
 * convolution of stride 2. The classifier pools globally, then normalises (`norm`).
 *
 * ConvNeXt V2 (Woo et al., ConvNeXt V2, CVPR 2023, arXiv:2301.00808; `use_grn: true`, without
 * layer scale) adds global response normalisation to each MLP, after its GELU: every channel scaled by
 * its L2 norm over the image relative to the mean of those norms over the channels.
 *
 * The layout is NHWC, so the paper's channels-first layer norm is a plain one over the last axis.
 * `patch_size` 2 or 1 keeps 28-32 px images large enough (as for Swin). Parameter names follow
 * timm's (`stem`, `stages.<s>.downsample`, `stages.<s>.blocks.<b>.conv_dw/norm/mlp/gamma`), with
 * the stem's and the downsampling's parts named; weight maps translate torchvision's, timm's and
 * the official code's (src/weights/maps/convnext.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Layer, Module } from '../nn/module';
import { Conv2d, DropPath, LayerNorm, globalAvgPool } from '../nn/layers';
import { Mlp } from '../nn/attention';
import * as init from '../nn/init';
import type { Backbone } from './types';

/** The presets of the paper (tiny to large), timm's xlarge and its small ones (atto to nano, for small devices). */
export const CONVNEXT_ARCHS = {
  atto: { depths: [2, 2, 6, 2], dims: [40, 80, 160, 320] },
  femto: { depths: [2, 2, 6, 2], dims: [48, 96, 192, 384] },
  pico: { depths: [2, 2, 6, 2], dims: [64, 128, 256, 512] },
  nano: { depths: [2, 2, 8, 2], dims: [80, 160, 320, 640] },
  tiny: { depths: [3, 3, 9, 3], dims: [96, 192, 384, 768] },
  small: { depths: [3, 3, 27, 3], dims: [96, 192, 384, 768] },
  base: { depths: [3, 3, 27, 3], dims: [128, 256, 512, 1024] },
  large: { depths: [3, 3, 27, 3], dims: [192, 384, 768, 1536] },
  xlarge: { depths: [3, 3, 27, 3], dims: [256, 512, 1024, 2048] },
  huge: { depths: [3, 3, 27, 3], dims: [352, 704, 1408, 2816] },
} as const;

export const convNeXtParams = z.strictObject({
  arch: z
    .enum(['atto', 'femto', 'pico', 'nano', 'tiny', 'small', 'base', 'large', 'xlarge', 'huge', 'custom'])
    .default('tiny')
    .describe('Preset (tiny: widths 96-192-384-768, depths 3-3-9-3; small: depths 3-3-27-3; base: 128-1024; large: 192-1536; xlarge: 256-2048; huge (V2): 352-2816; timm\'s atto 40-320, femto 48-384, pico 64-512 with depths 2-2-6-2, nano 80-640 with 2-2-8-2); custom uses depths and dims'),
  depths: z.array(init.blockCount()).min(1).max(8).optional().describe('Blocks per stage (arch: custom)'),
  dims: z.array(z.number().int().min(1)).min(1).max(8).optional().describe('Width of each stage (arch: custom)'),
  in_channels: z.number().int().min(1).default(3).describe('Channels of the input images; when left out, training uses the channels of its data'),
  patch_size: z.number().int().min(1).default(4).describe('Side and stride of the stem convolution (4; 2 or 1 for 28-32 px images)'),
  drop_path_rate: z.number().min(0).max(1).default(0.1).describe('Stochastic depth, growing linearly over all blocks to this rate (tiny: 0.1 in the paper)'),
  layer_scale_init_value: z.number().min(0).optional().describe('Initial value of the per-channel scale of each residual branch (default 1e-6; 0: no layer scale, the default with use_grn, as ConvNeXt V2 has none)'),
  use_grn: z.boolean().default(false).describe('ConvNeXt V2: global response normalisation in each MLP, and no layer scale unless layer_scale_init_value says otherwise'),
  out_indices: z.array(z.number().int().min(0).max(7)).min(1).optional().describe('Stages whose (normalised) features are returned (default: the last stage)'),
  gap_before_final_norm: z.boolean().default(true).describe('Pool each returned stage globally, then normalise it ([batch, channels], as the classifier does); false: normalised NHWC feature maps (for dense heads)'),
  frozen_stages: z.number().int().min(-1).max(7).default(-1).describe('Freeze the stem and stages up to this index (-1 = none)'),
  conv_mlp: z.boolean().optional().describe("Weights in timm's names hold the MLPs as 1x1 convolutions, as timm's atto to nano do (the default for those presets); the same computation either way"),
});

export type ConvNeXtParams = z.output<typeof convNeXtParams>;

/**
 * Global response normalisation (ConvNeXt V2, its Eq. 1-3) of an NHWC map: x + weight * (x * N(x)) +
 * bias, N the per-channel L2 norm over the image divided by its mean over the channels (+1e-6).
 * Weight and bias start at zero, so a new GRN passes its input through.
 */
class GlobalResponseNorm extends Layer<tf.Tensor, tf.Tensor> {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(dim: number) {
    super();
    // Not decayed, as in the V2 code (its optimiser skips GRN's gamma and beta).
    this.weight = this.param('weight', tf.zeros([dim]), 'norm');
    this.bias = this.param('bias', tf.zeros([dim]), 'bias');
  }

  forward(x: tf.Tensor): tf.Tensor {
    // 1e-12 under the root: its gradient at an all-zero channel is then finite, not NaN.
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(x), [1, 2], true), 1e-12));
    const response = tf.div(norm, tf.add(tf.mean(norm, -1, true), 1e-6));
    return tf.add(tf.add(x, tf.mul(this.weight, tf.mul(x, response))), this.bias);
  }
}

/** ConvNeXt V2's MLP: GRN after the GELU. */
class GrnMlp extends Mlp {
  readonly grn: GlobalResponseNorm;

  constructor(dim: number, hidden: number) {
    super(dim, hidden);
    this.grn = this.child('grn', new GlobalResponseNorm(hidden));
  }

  override forward(x: tf.Tensor, visible?: tf.Tensor): tf.Tensor {
    const h = this.activate(this.fc1.forward(x));
    // Masked positions out of GRN's norms, as a sparse convolution's inactive sites are (FCMAE).
    return this.fc2.forward(this.grn.forward(visible ? tf.mul(h, visible) : h));
  }
}

/**
 * Depthwise 7x7, layer norm, MLP (4x, GELU; V2: then GRN), layer scale; stochastic depth on the
 * branch. With `visible` ([N, H, W, 1], 1 where the image is seen), the masked positions are zeros
 * in and out, and nothing of them reaches the visible ones: the dense equivalent of the sparse
 * convolutions FCMAE pre-trains with.
 */
export class ConvNeXtBlock extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly convDw: Conv2d;
  readonly norm: LayerNorm;
  readonly mlp: Mlp;
  readonly gamma?: tf.Variable;
  private readonly dropPath: DropPath;

  constructor(dim: number, dropPath: number, layerScale: number, grn: boolean) {
    super();
    this.convDw = this.child('conv_dw', new Conv2d(dim, dim, 7, { groups: dim, bias: true, init: 'trunc_normal' }));
    this.norm = this.child('norm', new LayerNorm(dim, 1e-6));
    this.mlp = this.child('mlp', grn ? new GrnMlp(dim, 4 * dim) : new Mlp(dim, 4 * dim));
    if (layerScale > 0) this.gamma = this.param('gamma', tf.fill([dim], layerScale), 'norm');
    this.dropPath = this.child('drop_path', new DropPath(dropPath));
  }

  forward(x: tf.Tensor4D, visible?: tf.Tensor4D): tf.Tensor4D {
    const normed = this.norm.forward(this.convDw.forward(x));
    let y = this.mlp instanceof GrnMlp ? this.mlp.forward(normed, visible) : this.mlp.forward(normed);
    if (this.gamma) y = tf.mul(y, this.gamma);
    const out = tf.add(x, this.dropPath.forward(y)) as tf.Tensor4D;
    return visible ? (tf.mul(out, visible) as tf.Tensor4D) : out;
  }
}

/** Layer norm, then a convolution: the stem (patch_size x patch_size, norm after) and the downsampling between stages (2x2, norm before). */
class NormConv extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly norm: LayerNorm;
  readonly conv: Conv2d;

  constructor(inC: number, outC: number, k: number, readonly normFirst: boolean) {
    super();
    this.norm = this.child('norm', new LayerNorm(normFirst ? inC : outC, 1e-6));
    this.conv = this.child('conv', new Conv2d(inC, outC, k, { stride: k, padding: 0, bias: true, init: 'trunc_normal' }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.normFirst ? this.conv.forward(this.norm.forward(x) as tf.Tensor4D) : (this.norm.forward(this.conv.forward(x)) as tf.Tensor4D);
  }
}

class ConvNeXtStage extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly downsample?: NormConv;
  readonly blocks: ConvNeXtBlock[];

  /** `inC`: the previous stage's width, or undefined for the first stage (the stem's output, not downsampled). */
  constructor(inC: number | undefined, dim: number, rates: number[], layerScale: number, grn: boolean) {
    super();
    if (inC !== undefined) this.downsample = this.child('downsample', new NormConv(inC, dim, 2, true));
    this.blocks = rates.map((rate, b) => this.child(`blocks.${b}`, new ConvNeXtBlock(dim, rate, layerScale, grn)));
  }

  forward(x: tf.Tensor4D, visible?: tf.Tensor4D): tf.Tensor4D {
    let y = this.downsample ? this.downsample.forward(x) : x;
    if (visible) y = tf.mul(y, visible) as tf.Tensor4D;
    for (const block of this.blocks) y = block.forward(y, visible);
    return y;
  }
}

export class ConvNeXt extends Module implements Backbone {
  readonly outChannels: number[];
  readonly inChannels: number;
  readonly outIndices: number[];
  /** Width of the last stage (what forwardMasked returns). */
  readonly lastStageChannels: number;
  private readonly stem: NormConv;
  private readonly stages: ConvNeXtStage[] = [];
  private readonly norms = new Map<number, LayerNorm>();

  constructor(readonly params: ConvNeXtParams) {
    super();
    const arch = params.arch === 'custom' ? undefined : CONVNEXT_ARCHS[params.arch];
    const depths = params.depths ?? arch?.depths;
    const dims = params.dims ?? arch?.dims;
    if (!depths || !dims) throw new UserError('ConvNeXt arch custom needs depths and dims');
    if (depths.length !== dims.length) throw new UserError(`ConvNeXt: depths has ${depths.length} stages but dims ${dims.length}; give one entry per stage`);
    const last = depths.length - 1;
    this.outIndices = params.out_indices ?? [last];
    for (const i of this.outIndices) if (i > last) throw new UserError(`ConvNeXt: out_indices names stage ${i}, but there are ${depths.length} stages (0..${last})`);
    this.inChannels = params.in_channels;
    this.stem = this.child('stem', new NormConv(params.in_channels, dims[0], params.patch_size, false));
    const total = depths.reduce((a, b) => a + b, 0);
    const rates = Array.from({ length: total }, (_, i) => (total > 1 ? (params.drop_path_rate * i) / (total - 1) : 0));
    const layerScale = params.layer_scale_init_value ?? (params.use_grn ? 0 : 1e-6);
    let k = 0;
    depths.forEach((depth, s) => {
      this.stages.push(this.child(`stages.${s}`, new ConvNeXtStage(s === 0 ? undefined : dims[s - 1], dims[s], rates.slice(k, k + depth), layerScale, params.use_grn)));
      k += depth;
    });
    // The last stage's norm is `norm` (the classifier's in timm, torchvision and the paper's code); other stages get their own.
    for (const i of this.outIndices) this.norms.set(i, this.child(i === last ? 'norm' : `norm${i}`, new LayerNorm(dims[i], 1e-6)));
    this.outChannels = this.outIndices.map((i) => dims[i]);
    this.lastStageChannels = dims[last];
    if (params.frozen_stages >= 0) {
      this.stem.freeze();
      for (let s = 0; s <= params.frozen_stages && s < this.stages.length; s++) this.stages[s].freeze();
    }
  }

  forward(x: tf.Tensor4D): tf.Tensor[] {
    let y = this.stem.forward(x);
    const outs = new Map<number, tf.Tensor>();
    this.stages.forEach((stage, s) => {
      y = stage.forward(y);
      const norm = this.norms.get(s);
      if (norm) outs.set(s, norm.forward(this.params.gap_before_final_norm ? globalAvgPool(y) : y));
    });
    return this.outIndices.map((i) => outs.get(i)!);
  }

  /**
   * The last returned stage as a normalised map (its norm at every position), whatever
   * gap_before_final_norm says: the benchmarks' grid pooling (`cvw benchmark --pool`) pools it.
   */
  forwardPatchMap(x: tf.Tensor4D): tf.Tensor4D {
    const i = this.outIndices[this.outIndices.length - 1];
    let y = this.stem.forward(x);
    for (let s = 0; s <= i; s++) y = this.stages[s].forward(y);
    return this.norms.get(i)!.forward(y) as tf.Tensor4D;
  }

  /** Input pixels per feature of the last stage, along each side (the stem's patch, then 2x per stage). */
  get totalStride(): number {
    return this.params.patch_size * 2 ** (this.stages.length - 1);
  }

  /**
   * The last stage's feature map (not normalised) of images seen only where `visible` ([N, h, w, 1]
   * at the last stage's resolution) is 1: every stage masks at its own resolution, so the features
   * of the visible positions do not depend on the hidden pixels (FCMAE's sparse encoder, densely).
   */
  forwardMasked(x: tf.Tensor4D, visible: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w] = visible.shape;
    const at = (scale: number) => (scale === 1 ? visible : (tf.reshape(tf.tile(tf.reshape(visible, [n, h, 1, w, 1, 1]), [1, 1, scale, 1, scale, 1]), [n, h * scale, w * scale, 1]) as tf.Tensor4D));
    const last = this.stages.length - 1;
    let y = this.stem.forward(x);
    this.stages.forEach((stage, s) => {
      y = stage.forward(y, at(2 ** (last - s)));
    });
    return y;
  }
}

register('backbone', {
  type: 'ConvNeXt',
  description: 'ConvNeXt: depthwise 7x7 convolutions, layer norm, inverted MLPs and layer scale in four stages (atto to huge presets); V2 with use_grn',
  paper: 'Liu et al., A ConvNet for the 2020s, CVPR 2022, arXiv:2201.03545; Woo et al., ConvNeXt V2, CVPR 2023, arXiv:2301.00808',
  params: convNeXtParams,
  build: (p) => new ConvNeXt(p),
});

/** Whether a ConvNeXt config's MLPs are 1x1 convolutions in timm's weights (timm's conv_mlp: its atto to nano). */
export function convNeXtConvMlp(backbone: Record<string, unknown>): boolean {
  return typeof backbone.conv_mlp === 'boolean' ? backbone.conv_mlp : ['atto', 'femto', 'pico', 'nano'].includes(String(backbone.arch));
}
