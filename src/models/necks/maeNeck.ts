/**
 * MAE's light decoder (He et al., Masked Autoencoders Are Scalable Vision Learners, CVPR 2022,
 * arXiv:2111.06377, Section 3 "MAE decoder"; EasyCV MAENeck): the encoded visible tokens are
 * projected to the decoder width, a shared learned mask token fills every hidden position, the
 * tokens are put back in image order, fixed 2-D sine-cosine position embeddings are added, a few
 * narrow transformer blocks run, and a linear layer predicts the pixels of every patch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Module } from '../nn/module';
import { LayerNorm, Linear } from '../nn/layers';
import { TransformerBlock } from '../nn/attention';
import * as init from '../nn/init';

export const maeNeckParams = z.strictObject({
  in_channels: z.number().int().min(1).optional().describe('Width of the encoder tokens (default: the ViT\'s embed_dim)'),
  num_patches: z.number().int().min(1).optional().describe('Patches per image (default: from the ViT: (img_size / patch_size)^2)'),
  patch_size: z.number().int().min(1).optional().describe('Side of a patch in pixels (default: the ViT\'s)'),
  out_pixels: z.number().int().min(1).optional().describe('Values predicted per patch: patch_size^2 x channels (default: from the ViT)'),
  decoder_embed_dim: z.number().int().min(8).default(512).describe('Decoder width (512 in the paper; 64-128 for small images)'),
  decoder_depth: init.blockCount().default(8).describe('Decoder transformer blocks (8 in the paper; fine-tuning is as good with 1, linear probes gain from more: its Table 1a)'),
  decoder_num_heads: z.number().int().min(1).default(16).describe('Decoder attention heads; must divide decoder_embed_dim'),
  mlp_ratio: z.number().positive().default(4).describe('Hidden width of the decoder MLPs, as a multiple of decoder_embed_dim'),
});

export type MAENeckParams = z.output<typeof maeNeckParams>;

/**
 * Fixed 2-D sine-cosine position embeddings `[gh * gw, dim]` (MAE's get_2d_sincos_pos_embed): the
 * first half of the channels encodes the column, the second half the row, each as
 * [sin(pos * w_i), cos(pos * w_i)] with w_i = 1 / 10000^(i / (dim / 4)).
 */
export function sincos2d(dim: number, gh: number, gw: number): Float32Array {
  if (dim % 4 !== 0) throw new Error(`2-D sine-cosine embeddings need a width divisible by 4, got ${dim}`);
  const quarter = dim / 4;
  const out = new Float32Array(gh * gw * dim);
  for (let r = 0; r < gh; r++) {
    for (let c = 0; c < gw; c++) {
      const row = out.subarray((r * gw + c) * dim, (r * gw + c + 1) * dim);
      for (let i = 0; i < quarter; i++) {
        const omega = 1 / 10000 ** (i / quarter);
        row[i] = Math.sin(c * omega);
        row[quarter + i] = Math.cos(c * omega);
        row[2 * quarter + i] = Math.sin(r * omega);
        row[3 * quarter + i] = Math.cos(r * omega);
      }
    }
  }
  return out;
}

/** MAE's positions of a class token and a g x g grid of patches, `[1, 1 + g * g, dim]`: the class token's row zero. */
export function sincosWithClassToken(dim: number, g: number): tf.Tensor3D {
  const pos = new Float32Array((g * g + 1) * dim);
  pos.set(sincos2d(dim, g, g), dim);
  return tf.tensor3d(pos, [1, g * g + 1, dim]);
}

export class MAENeck extends Module {
  readonly embed: Linear;
  readonly maskToken: tf.Variable;
  readonly posEmbed: tf.Variable;
  readonly blocks: TransformerBlock[] = [];
  readonly norm: LayerNorm;
  readonly pred: Linear;
  readonly outChannels: number[];
  readonly numPatches: number;

  constructor(readonly params: MAENeckParams) {
    super();
    const { in_channels: inC, num_patches: n, out_pixels: outPix } = params;
    if (!inC || !n || !outPix) throw new UserError('MAENeck: in_channels, num_patches and out_pixels are unknown; use it inside MAE with a VisionTransformer backbone, or set them');
    const d = params.decoder_embed_dim;
    if (d % params.decoder_num_heads !== 0) throw new UserError(`MAENeck: decoder_embed_dim ${d} is not divisible by decoder_num_heads ${params.decoder_num_heads}`);
    const g = Math.round(Math.sqrt(n));
    if (g * g !== n) throw new UserError(`MAENeck: num_patches ${n} is not a square grid`);
    this.numPatches = n;
    this.embed = this.child('decoder_embed', new Linear(inC, d, { init: 'xavier' }));
    this.maskToken = this.param('mask_token', init.normal([1, 1, d], 0.02), 'embedding');
    // Fixed, not learned (the paper): a buffer, with a zero row for the class token.
    this.posEmbed = this.buffer('decoder_pos_embed', sincosWithClassToken(d, g));
    for (let i = 0; i < params.decoder_depth; i++) {
      this.blocks.push(this.child(`decoder_blocks.${i}`, new TransformerBlock(d, params.decoder_num_heads, { mlpRatio: params.mlp_ratio, qkvBias: true })));
    }
    this.norm = this.child('decoder_norm', new LayerNorm(d));
    this.pred = this.child('decoder_pred', new Linear(d, outPix, { init: 'xavier' }));
    this.outChannels = [outPix];
  }

  /**
   * Pixel predictions `[B, N, out_pixels]` for every patch, from the encoded tokens `[B, 1 + L, C]`
   * (class token first, then the L visible patches in the masking's kept order) and `idsRestore`
   * `[B, N]`: for each image position, the index of its token in [visible..., masked...] order.
   */
  forward(tokens: tf.Tensor3D, idsRestore: tf.Tensor2D): tf.Tensor3D {
    const [b, l1] = tokens.shape;
    const n = this.numPatches;
    const keep = l1 - 1;
    const d = this.params.decoder_embed_dim;
    const x = this.embed.forward(tokens) as tf.Tensor3D;
    const cls = tf.slice(x, [0, 0, 0], [b, 1, d]);
    const visible = tf.slice(x, [0, 1, 0], [b, keep, d]);
    // Broadcast by an add, not tile (nor broadcastTo, which is tile underneath): tile's gradient
    // slices every copy out one by one, thousands of kernels; an add's is one sum.
    const masked = tf.add(tf.zeros([b, n - keep, d]), this.maskToken);
    const shuffled = tf.reshape(tf.concat([visible, masked], 1), [b * n, d]);
    // Unshuffle: one gather over the flattened batch (its gradient is a segment sum).
    const offsets = tf.mul(tf.reshape(tf.range(0, b, 1, 'int32'), [b, 1]), tf.scalar(n, 'int32'));
    const flat = tf.reshape(tf.add(tf.cast(idsRestore, 'int32'), offsets), [b * n]);
    const ordered = tf.reshape(tf.gather(shuffled, flat), [b, n, d]);
    let y = tf.add(tf.concat([cls, ordered], 1), this.posEmbed) as tf.Tensor3D;
    for (const blk of this.blocks) y = blk.forward(y);
    y = this.norm.forward(y) as tf.Tensor3D;
    const out = this.pred.forward(y);
    return tf.slice(out, [0, 1, 0], [b, n, -1]) as tf.Tensor3D;
  }
}

register('neck', {
  type: 'MAENeck',
  description: 'MAE decoder: mask tokens, fixed sine-cosine positions, light transformer blocks and a pixel predictor',
  paper: 'He et al., Masked Autoencoders Are Scalable Vision Learners (MAE), CVPR 2022, arXiv:2111.06377',
  params: maeNeckParams,
  build: (p) => new MAENeck(p),
});
