/**
 * Swin Transformer (Liu et al., Swin Transformer: Hierarchical Vision Transformer using Shifted
 * Windows, ICCV 2021, arXiv:2103.14030).
 *
 * Self-attention is computed inside non-overlapping windows of M x M tokens (Section 3.2), with a
 * learned relative position bias B in softmax(QK^T / sqrt(d) + B) V (Eq. 4); every other block
 * shifts the windows by M/2 (a cyclic shift plus a mask that keeps tokens from attending across
 * the wrapped border, Fig. 4), so information crosses windows. Patch merging concatenates 2x2
 * neighbours and halves the resolution while doubling the width, giving a pyramid of 4 stages.
 *
 * Images whose grids are not multiples of the window are padded (as the detection version of the
 * reference code does); a stage whose grid is no larger than the window uses one window of the
 * grid's size and no shift (as the classification version does), so small images (28x28 with
 * patch 2, 96x96 with patch 4) work. Parameter names follow timm/the official code.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Layer, Module } from '../nn/module';
import { Conv2d, DropPath, LayerNorm, Linear } from '../nn/layers';
import { Mlp } from '../nn/attention';
import * as init from '../nn/init';
import type { Backbone } from './types';

export const SWIN_ARCHS = {
  tiny: { embed_dim: 96, depths: [2, 2, 6, 2], num_heads: [3, 6, 12, 24] },
  small: { embed_dim: 96, depths: [2, 2, 18, 2], num_heads: [3, 6, 12, 24] },
  base: { embed_dim: 128, depths: [2, 2, 18, 2], num_heads: [4, 8, 16, 32] },
} as const;

export const swinTransformerParams = z.strictObject({
  arch: z.enum(['tiny', 'small', 'base', 'custom']).default('tiny').describe('Preset (tiny: 96, depths 2-2-6-2, heads 3-6-12-24; small: depths 2-2-18-2; base: 128, heads 4-8-16-32); custom uses embed_dim, depths, num_heads'),
  patch_size: z.number().int().min(1).default(4).describe('Side of the patches embedded at the start (4; 2 for 28-32 px images)'),
  in_channels: z.number().int().min(1).default(3).describe('Channels of the input images'),
  embed_dim: z.number().int().min(4).optional().describe('Width of the first stage (arch: custom); doubles at every stage'),
  depths: z.array(init.blockCount()).min(1).max(8).optional().describe('Blocks per stage (arch: custom; at most 8 stages, each doubling the width)'),
  num_heads: z.array(z.number().int().min(1)).min(1).optional().describe('Attention heads per stage (arch: custom); each must divide its stage width'),
  window_size: z.number().int().min(1).default(7).describe('Side M of the attention windows, in tokens (7)'),
  mlp_ratio: z.number().positive().default(4).describe('Hidden width of the MLPs, as a multiple of the stage width'),
  qkv_bias: z.boolean().default(true).describe('Biases in the query/key/value projection'),
  drop_path_rate: z.number().min(0).max(1).default(0.2).describe('Stochastic depth, growing linearly over all blocks to this rate (tiny: 0.2)'),
  out_indices: z.array(z.number().int().min(0).max(7)).min(1).optional().describe('Stages whose (normalised) NHWC feature maps are returned (default: the last stage)'),
});

export type SwinTransformerParams = z.output<typeof swinTransformerParams>;

/** x [B, H, W, C] rolled by (dy, dx) along H and W, as torch.roll: out[i] = x[i - d]. */
export function roll2d(x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  let y: tf.Tensor4D = x;
  const sy = ((dy % h) + h) % h;
  if (sy) y = tf.concat([tf.slice(y, [0, h - sy, 0, 0], [-1, sy, -1, -1]), tf.slice(y, [0, 0, 0, 0], [-1, h - sy, -1, -1])], 1) as tf.Tensor4D;
  const sx = ((dx % w) + w) % w;
  if (sx) y = tf.concat([tf.slice(y, [0, 0, w - sx, 0], [-1, -1, sx, -1]), tf.slice(y, [0, 0, 0, 0], [-1, -1, w - sx, -1])], 2) as tf.Tensor4D;
  return y;
}

/** [B, H, W, C] -> [B * nW, M * M, C], windows in row-major order, tokens row-major inside. */
export function windowPartition(x: tf.Tensor4D, m: number): tf.Tensor3D {
  const [b, h, w, c] = x.shape;
  const y = tf.reshape(x, [b, h / m, m, w / m, m, c]);
  return tf.reshape(tf.transpose(y, [0, 1, 3, 2, 4, 5]), [-1, m * m, c]) as tf.Tensor3D;
}

/** The inverse of windowPartition. */
export function windowReverse(windows: tf.Tensor, m: number, b: number, h: number, w: number): tf.Tensor4D {
  const c = windows.shape[windows.rank - 1];
  const y = tf.reshape(windows, [b, h / m, w / m, m, m, c]);
  return tf.reshape(tf.transpose(y, [0, 1, 3, 2, 4, 5]), [b, h, w, c]) as tf.Tensor4D;
}

/**
 * Index into the bias table `[(2T - 1)^2, heads]` (T = the configured window) of every pair of
 * tokens of an m x m window (m <= T): (dy + T - 1) * (2T - 1) + (dx + T - 1).
 */
export function relativePositionIndex(m: number, table: number): Int32Array {
  const n = m * m;
  const out = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    const yi = Math.floor(i / m);
    const xi = i % m;
    for (let j = 0; j < n; j++) {
      const dy = yi - Math.floor(j / m);
      const dx = xi - (j % m);
      out[i * n + j] = (dy + table - 1) * (2 * table - 1) + (dx + table - 1);
    }
  }
  return out;
}

/**
 * The mask of shifted-window attention `[nW, M*M, M*M]`: 0 between tokens that were neighbours
 * before the cyclic shift, -100 between tokens that only share a window because of the wrap.
 */
export function shiftedWindowMask(h: number, w: number, m: number, shift: number): Float32Array {
  const region = new Int32Array(h * w);
  const band = (v: number, size: number) => (v < size - m ? 0 : v < size - shift ? 1 : 2);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) region[y * w + x] = band(y, h) * 3 + band(x, w);
  const nW = (h / m) * (w / m);
  const n = m * m;
  const mask = new Float32Array(nW * n * n);
  let wi = 0;
  for (let wy = 0; wy < h / m; wy++) {
    for (let wx = 0; wx < w / m; wx++, wi++) {
      const labels = new Int32Array(n);
      for (let t = 0; t < n; t++) labels[t] = region[(wy * m + Math.floor(t / m)) * w + wx * m + (t % m)];
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) mask[wi * n * n + i * n + j] = labels[i] === labels[j] ? 0 : -100;
    }
  }
  return mask;
}

/** Multi-head self-attention inside windows, with the relative position bias (Eq. 4). */
export class WindowAttention extends Layer<tf.Tensor3D, tf.Tensor3D> {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly biasTable: tf.Variable;
  readonly headDim: number;
  private readonly indexCache = new Map<number, tf.Tensor1D>();

  constructor(
    readonly dim: number,
    readonly numHeads: number,
    readonly windowSize: number,
    qkvBias: boolean,
  ) {
    super();
    if (dim % numHeads !== 0) throw new UserError(`SwinTransformer: stage width ${dim} is not divisible by ${numHeads} heads`);
    this.headDim = dim / numHeads;
    this.biasTable = this.param('relative_position_bias_table', init.truncNormal([(2 * windowSize - 1) ** 2, numHeads], 0.02), 'embedding');
    this.qkv = this.child('qkv', new Linear(dim, dim * 3, { bias: qkvBias, init: 'trunc_normal' }));
    this.proj = this.child('proj', new Linear(dim, dim, { init: 'trunc_normal' }));
  }

  /** The bias `[heads, m*m, m*m]` for windows of side m. */
  relativeBias(m: number): tf.Tensor3D {
    let index = this.indexCache.get(m);
    if (!index) {
      index = tf.keep(tf.tensor1d(relativePositionIndex(m, this.windowSize), 'int32'));
      this.indexCache.set(m, index);
    }
    const n = m * m;
    return tf.transpose(tf.reshape(tf.gather(this.biasTable, index), [n, n, this.numHeads]), [2, 0, 1]) as tf.Tensor3D;
  }

  /** `x` `[B * nW, m*m, C]`; `mask` `[nW, m*m, m*m]` for shifted windows. */
  forwardWindows(x: tf.Tensor3D, m: number, mask?: tf.Tensor3D): tf.Tensor3D {
    const [bw, n, c] = x.shape;
    const h = this.numHeads;
    const d = this.headDim;
    const qkv = tf.transpose(tf.reshape(this.qkv.forward(x), [bw, n, 3, h, d]), [2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(qkv, 0) as tf.Tensor4D[];
    let attn: tf.Tensor = tf.add(tf.matMul(tf.mul(q, 1 / Math.sqrt(d)), k, false, true), this.relativeBias(m));
    if (mask) {
      const nW = mask.shape[0];
      attn = tf.reshape(tf.add(tf.reshape(attn, [bw / nW, nW, h, n, n]), tf.reshape(mask, [1, nW, 1, n, n])), [bw, h, n, n]);
    }
    const out = tf.matMul(tf.softmax(attn) as tf.Tensor4D, v);
    return this.proj.forward(tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [bw, n, c])) as tf.Tensor3D;
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return this.forwardWindows(x, this.windowSize);
  }

  override dispose(): void {
    for (const t of this.indexCache.values()) t.dispose();
    this.indexCache.clear();
    super.dispose();
  }
}

/** A Swin block: (shifted) window attention and an MLP, each pre-norm with a residual and stochastic depth. */
export class SwinBlock extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly norm1: LayerNorm;
  readonly attn: WindowAttention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;
  private readonly dropPath: DropPath;
  private readonly maskCache = new Map<string, tf.Tensor3D>();

  constructor(
    readonly dim: number,
    numHeads: number,
    readonly windowSize: number,
    /** Whether this block shifts its windows (every second block). */
    readonly shifted: boolean,
    options: { mlpRatio: number; qkvBias: boolean; dropPath: number },
  ) {
    super();
    this.norm1 = this.child('norm1', new LayerNorm(dim, 1e-5));
    this.attn = this.child('attn', new WindowAttention(dim, numHeads, windowSize, options.qkvBias));
    this.norm2 = this.child('norm2', new LayerNorm(dim, 1e-5));
    this.mlp = this.child('mlp', new Mlp(dim, Math.round(dim * options.mlpRatio)));
    this.dropPath = this.child('drop_path', new DropPath(options.dropPath));
  }

  /** The window side and shift used on an h x w grid. */
  geometry(h: number, w: number): { m: number; shift: number } {
    const small = Math.min(h, w) <= this.windowSize;
    const m = small ? Math.min(h, w) : this.windowSize;
    return { m, shift: this.shifted && !small ? Math.floor(this.windowSize / 2) : 0 };
  }

  private mask(hp: number, wp: number, m: number, shift: number): tf.Tensor3D {
    const key = `${hp}x${wp}/${m}/${shift}`;
    let t = this.maskCache.get(key);
    if (!t) {
      const nW = (hp / m) * (wp / m);
      t = tf.keep(tf.tensor3d(shiftedWindowMask(hp, wp, m, shift), [nW, m * m, m * m]));
      this.maskCache.set(key, t);
    }
    return t;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [b, h, w, c] = x.shape;
    const { m, shift } = this.geometry(h, w);
    let y = this.norm1.forward(x) as tf.Tensor4D;
    const padB = (m - (h % m)) % m;
    const padR = (m - (w % m)) % m;
    if (padB || padR) y = tf.pad(y, [[0, 0], [0, padB], [0, padR], [0, 0]]);
    const hp = h + padB;
    const wp = w + padR;
    if (shift) y = roll2d(y, -shift, -shift);
    const windows = this.attn.forwardWindows(windowPartition(y, m), m, shift ? this.mask(hp, wp, m, shift) : undefined);
    y = windowReverse(windows, m, b, hp, wp);
    if (shift) y = roll2d(y, shift, shift);
    if (padB || padR) y = tf.slice(y, [0, 0, 0, 0], [b, h, w, c]);
    const x1 = tf.add(x, this.dropPath.forward(y)) as tf.Tensor4D;
    return tf.add(x1, this.dropPath.forward(this.mlp.forward(this.norm2.forward(x1)))) as tf.Tensor4D;
  }

  override dispose(): void {
    for (const t of this.maskCache.values()) t.dispose();
    this.maskCache.clear();
    super.dispose();
  }
}

/** 2x2 neighbours concatenated (x0, x1, x2, x3 = (0,0), (1,0), (0,1), (1,1) in (row, col)), normalised, and reduced from 4C to 2C. */
export class PatchMerging extends Layer<tf.Tensor4D, tf.Tensor4D> {
  readonly norm: LayerNorm;
  readonly reduction: Linear;

  constructor(readonly dim: number) {
    super();
    this.norm = this.child('norm', new LayerNorm(4 * dim, 1e-5));
    this.reduction = this.child('reduction', new Linear(4 * dim, 2 * dim, { bias: false, init: 'trunc_normal' }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [b, , , c] = x.shape;
    let [, h, w] = x.shape;
    let y: tf.Tensor4D = x;
    if (h % 2 || w % 2) {
      y = tf.pad(y, [[0, 0], [0, h % 2], [0, w % 2], [0, 0]]);
      h += h % 2;
      w += w % 2;
    }
    // [B, H/2, 2 (row), W/2, 2 (col), C] -> [B, H/2, W/2, col, row, C]: channel blocks in x0..x3 order.
    const merged = tf.reshape(tf.transpose(tf.reshape(y, [b, h / 2, 2, w / 2, 2, c]), [0, 1, 3, 4, 2, 5]), [b, h / 2, w / 2, 4 * c]);
    return this.reduction.forward(this.norm.forward(merged)) as tf.Tensor4D;
  }
}

export class SwinStage extends Module {
  readonly blocks: SwinBlock[] = [];
  readonly downsample?: PatchMerging;

  constructor(dim: number, depth: number, heads: number, windowSize: number, dropPaths: number[], options: { mlpRatio: number; qkvBias: boolean; downsample: boolean }) {
    super();
    for (let i = 0; i < depth; i++) {
      this.blocks.push(this.child(`blocks.${i}`, new SwinBlock(dim, heads, windowSize, i % 2 === 1, { mlpRatio: options.mlpRatio, qkvBias: options.qkvBias, dropPath: dropPaths[i] })));
    }
    if (options.downsample) this.downsample = this.child('downsample', new PatchMerging(dim));
  }
}

export class SwinTransformer extends Module implements Backbone {
  readonly outChannels: number[];
  readonly inChannels: number;
  readonly patchEmbed: Conv2d;
  readonly patchNorm: LayerNorm;
  readonly stages: SwinStage[] = [];
  readonly stageChannels: number[] = [];
  readonly outIndices: number[];
  private readonly norms = new Map<number, LayerNorm>();

  constructor(readonly params: SwinTransformerParams) {
    super();
    const arch = params.arch === 'custom' ? undefined : SWIN_ARCHS[params.arch];
    const embed = params.embed_dim ?? arch?.embed_dim;
    const depths = params.depths ?? arch?.depths;
    const heads = params.num_heads ?? arch?.num_heads;
    if (!embed || !depths || !heads) throw new UserError('SwinTransformer arch custom needs embed_dim, depths and num_heads');
    if (depths.length !== heads.length) throw new UserError(`SwinTransformer: depths has ${depths.length} stages but num_heads ${heads.length}; give one entry per stage`);
    const last = depths.length - 1;
    this.outIndices = params.out_indices ?? [last];
    for (const i of this.outIndices) if (i > last) throw new UserError(`SwinTransformer: out_indices names stage ${i}, but there are ${depths.length} stages (0..${last})`);
    this.inChannels = params.in_channels;
    this.patchEmbed = this.child('patch_embed.proj', new Conv2d(params.in_channels, embed, params.patch_size, { stride: params.patch_size, padding: 0, bias: true }));
    this.patchNorm = this.child('patch_embed.norm', new LayerNorm(embed, 1e-5));
    const total = depths.reduce((a, b) => a + b, 0);
    const rates = Array.from({ length: total }, (_, i) => (total > 1 ? (params.drop_path_rate * i) / (total - 1) : 0));
    let dim = embed;
    let k = 0;
    depths.forEach((depth, s) => {
      this.stages.push(
        this.child(
          `layers.${s}`,
          new SwinStage(dim, depth, heads[s], params.window_size, rates.slice(k, k + depth), { mlpRatio: params.mlp_ratio, qkvBias: params.qkv_bias, downsample: s < last }),
        ),
      );
      this.stageChannels.push(dim);
      k += depth;
      if (s < last) dim *= 2;
    });
    // The last stage's norm is `norm` (timm's name); other requested stages get their own.
    for (const i of this.outIndices) this.norms.set(i, this.child(i === last ? 'norm' : `norm${i}`, new LayerNorm(this.stageChannels[i], 1e-5)));
    this.outChannels = this.outIndices.map((i) => this.stageChannels[i]);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    let y = this.patchNorm.forward(this.patchEmbed.forward(x)) as tf.Tensor4D;
    const outs = new Map<number, tf.Tensor4D>();
    this.stages.forEach((stage, s) => {
      for (const blk of stage.blocks) y = blk.forward(y);
      const norm = this.norms.get(s);
      if (norm) outs.set(s, norm.forward(y) as tf.Tensor4D);
      if (stage.downsample) y = stage.downsample.forward(y);
    });
    return this.outIndices.map((i) => outs.get(i)!);
  }
}

register('backbone', {
  type: 'SwinTransformer',
  description: 'Swin Transformer: shifted-window attention with relative position bias and patch merging (tiny/small/base presets)',
  paper: 'Liu et al., Swin Transformer: Hierarchical Vision Transformer using Shifted Windows, ICCV 2021, arXiv:2103.14030',
  params: swinTransformerParams,
  build: (p) => new SwinTransformer(p),
});
