/**
 * Vision Transformer (Dosovitskiy et al., An Image is Worth 16x16 Words, ICLR 2021,
 * arXiv:2010.11929): non-overlapping patches embedded by a strided convolution, a class token,
 * learned position embeddings, pre-norm transformer blocks with stochastic depth.
 *
 * Position embeddings are interpolated when an image's patch grid differs from the configured
 * one (DINO's small crops). MAE uses `embedPatches`, `blocks` and `norm` directly to run the
 * encoder on visible patches only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { Module } from '../nn/module';
import { Conv2d, LayerNorm } from '../nn/layers';
import { TransformerBlock } from '../nn/attention';
import * as init from '../nn/init';
import type { Backbone } from './types';

export const VIT_ARCHS = {
  tiny: { embed_dim: 192, depth: 12, num_heads: 3 },
  small: { embed_dim: 384, depth: 12, num_heads: 6 },
  base: { embed_dim: 768, depth: 12, num_heads: 12 },
} as const;

export const visionTransformerParams = z.strictObject({
  arch: z.enum(['tiny', 'small', 'base', 'custom']).default('tiny').describe('Preset width/depth/heads (tiny 192/12/3, small 384/12/6, base 768/12/12); custom uses embed_dim, depth, num_heads'),
  img_size: z.number().int().min(8).default(224).describe('Image size the position embeddings are made for (other sizes are interpolated)'),
  patch_size: z.number().int().min(1).default(16).describe('Side of the square patches (16 for 224 px images, 4 for 28-32 px)'),
  in_channels: z.number().int().min(1).default(3).describe('Channels of the input images; when left out, training uses the channels of its data'),
  embed_dim: z.number().int().min(8).optional().describe('Token width (arch: custom)'),
  depth: init.blockCount().optional().describe('Number of transformer blocks (arch: custom)'),
  num_heads: z.number().int().min(1).optional().describe('Attention heads (arch: custom); must divide embed_dim'),
  mlp_ratio: z.number().positive().default(4).describe('Hidden width of the MLP, as a multiple of embed_dim'),
  qkv_bias: z.boolean().default(true).describe('Biases in the query/key/value projection'),
  drop_path_rate: z.number().min(0).max(1).default(0.1).describe('Stochastic depth, growing linearly to this rate in the last block'),
  output: z.enum(['cls_token', 'avg_pool']).default('cls_token').describe('Feature returned: the class token, or the mean of the patch tokens'),
  out_indices: z.array(z.number().int().min(-1)).min(1).default([-1]).describe('Blocks whose (normalised) features are returned; -1 = the last'),
});

export type VisionTransformerParams = z.output<typeof visionTransformerParams>;

export class VisionTransformer extends Module implements Backbone {
  readonly outChannels: number[];
  readonly inChannels: number;
  readonly embedDim: number;
  readonly numHeads: number;
  readonly patchEmbed: Conv2d;
  readonly clsToken: tf.Variable;
  readonly posEmbed: tf.Variable;
  readonly blocks: TransformerBlock[] = [];
  readonly norm: LayerNorm;
  readonly gridSize: number;

  constructor(readonly params: VisionTransformerParams) {
    super();
    const arch = params.arch === 'custom' ? { embed_dim: params.embed_dim, depth: params.depth, num_heads: params.num_heads } : VIT_ARCHS[params.arch];
    const dim = params.embed_dim ?? arch.embed_dim;
    const depth = params.depth ?? arch.depth;
    const heads = params.num_heads ?? arch.num_heads;
    if (!dim || !depth || !heads) throw new Error('VisionTransformer arch custom needs embed_dim, depth and num_heads');
    if (dim % heads !== 0) throw new Error(`VisionTransformer: embed_dim ${dim} is not divisible by num_heads ${heads}`);
    this.embedDim = dim;
    this.numHeads = heads;
    this.inChannels = params.in_channels;
    this.gridSize = Math.floor(params.img_size / params.patch_size);
    this.patchEmbed = this.child('patch_embed', new Conv2d(params.in_channels, dim, params.patch_size, { stride: params.patch_size, padding: 0, bias: true }));
    this.clsToken = this.param('cls_token', init.truncNormal([1, 1, dim], 0.02), 'embedding');
    this.posEmbed = this.param('pos_embed', init.truncNormal([1, this.gridSize * this.gridSize + 1, dim], 0.02), 'embedding');
    for (let i = 0; i < depth; i++) {
      const rate = depth > 1 ? (params.drop_path_rate * i) / (depth - 1) : 0;
      this.blocks.push(this.child(`blocks.${i}`, new TransformerBlock(dim, heads, { mlpRatio: params.mlp_ratio, qkvBias: params.qkv_bias, dropPath: rate })));
    }
    this.norm = this.child('norm', new LayerNorm(dim));
    this.outChannels = params.out_indices.map(() => dim);
  }

  /** Patch tokens with position embeddings, without the class token: `[B, N, D]`. */
  embedPatches(x: tf.Tensor4D): tf.Tensor3D {
    const y = this.patchEmbed.forward(x);
    const [b, gh, gw, d] = y.shape;
    const tokens = tf.reshape(y, [b, gh * gw, d]);
    return tf.add(tokens, this.patchPositions(gh, gw)) as tf.Tensor3D;
  }

  /** Position embeddings of the patch tokens for a gh x gw grid (bilinear interpolation when it differs). */
  patchPositions(gh: number, gw: number): tf.Tensor3D {
    const g = this.gridSize;
    const patchPos = tf.slice(this.posEmbed, [0, 1, 0], [1, g * g, this.embedDim]);
    if (gh === g && gw === g) return patchPos as tf.Tensor3D;
    const grid = tf.reshape(patchPos, [1, g, g, this.embedDim]) as tf.Tensor4D;
    return tf.reshape(tf.image.resizeBilinear(grid, [gh, gw], true), [1, gh * gw, this.embedDim]);
  }

  /** The class token with its position embedding, one per image of `tokens`: `[B, 1, D]`. */
  classToken(tokens: tf.Tensor3D): tf.Tensor3D {
    const cls = tf.add(this.clsToken, tf.slice(this.posEmbed, [0, 0, 0], [1, 1, this.embedDim]));
    // Broadcast by an add rather than tile (or broadcastTo, tile underneath): tile's gradient
    // slices out every copy, one kernel per image; an add's gradient is one sum. The zeros come
    // from the tokens (not tf.zeros([B, ...])) so an exported graph keeps its batch dynamic.
    const [b, , d] = tokens.shape;
    return tf.add(tf.zerosLike(tf.slice(tokens, [0, 0, 0], [b, 1, d])), cls) as tf.Tensor3D;
  }

  /** All tokens after the blocks (and the final norm): `[B, 1 + N, D]`. */
  forwardTokens(x: tf.Tensor4D, collect?: (i: number, t: tf.Tensor3D) => void): tf.Tensor3D {
    const patches = this.embedPatches(x);
    let t = tf.concat([this.classToken(patches), patches], 1) as tf.Tensor3D;
    this.blocks.forEach((blk, i) => {
      t = blk.forward(t);
      collect?.(i, t);
    });
    return this.norm.forward(t) as tf.Tensor3D;
  }

  /** The patch tokens after the final norm as a map `[B, H / patch, W / patch, D]` (the grid-pooled benchmark features). */
  forwardPatchMap(x: tf.Tensor4D): tf.Tensor4D {
    const tokens = this.forwardTokens(x);
    const [b, n, d] = tokens.shape;
    const [gh, gw] = [Math.floor(x.shape[1] / this.params.patch_size), Math.floor(x.shape[2] / this.params.patch_size)];
    return tf.reshape(tf.slice(tokens, [0, 1, 0], [b, n - 1, d]), [b, gh, gw, d]) as tf.Tensor4D;
  }

  private pool(tokens: tf.Tensor3D): tf.Tensor2D {
    const [b, n, d] = tokens.shape;
    if (this.params.output === 'avg_pool') return tf.mean(tf.slice(tokens, [0, 1, 0], [b, n - 1, d]), 1) as tf.Tensor2D;
    return tf.reshape(tf.slice(tokens, [0, 0, 0], [b, 1, d]), [b, d]) as tf.Tensor2D;
  }

  forward(x: tf.Tensor4D): tf.Tensor2D[] {
    const depth = this.blocks.length;
    const wanted = new Set(this.params.out_indices.map((i) => (i < 0 ? depth + i : i)));
    const outs = new Map<number, tf.Tensor2D>();
    const last = this.forwardTokens(x, (i, t) => {
      if (wanted.has(i) && i !== depth - 1) outs.set(i, this.pool(this.norm.forward(t) as tf.Tensor3D));
    });
    if (wanted.has(depth - 1)) outs.set(depth - 1, this.pool(last));
    return this.params.out_indices.map((i) => outs.get(i < 0 ? depth + i : i)!);
  }
}

register('backbone', {
  type: 'VisionTransformer',
  description: 'Vision Transformer: patch embedding, class token, pre-norm transformer blocks (tiny/small/base presets)',
  paper: 'Dosovitskiy et al., An Image is Worth 16x16 Words, ICLR 2021, arXiv:2010.11929',
  params: visionTransformerParams,
  build: (p) => new VisionTransformer(p),
});
