/**
 * Transformer parts (Vaswani et al., Attention Is All You Need, 2017; Dosovitskiy et al., An Image
 * is Worth 16x16 Words, ICLR 2021): multi-head self-attention, the MLP, and the pre-norm block
 * with stochastic depth. Tokens are `[batch, tokens, dim]`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer } from './module';
import { DropPath, Dropout, LayerNorm, Linear, gelu } from './layers';
import { geluTrain } from '../../engine/ops/gelu';

export class MultiHeadSelfAttention extends Layer<tf.Tensor3D, tf.Tensor3D> {
  readonly qkv: Linear;
  readonly proj: Linear;
  private readonly attnDrop: Dropout;
  readonly headDim: number;

  constructor(
    readonly dim: number,
    readonly numHeads: number,
    options: { qkvBias?: boolean; attnDrop?: number } = {},
  ) {
    super();
    if (dim % numHeads !== 0) throw new Error(`attention: dim ${dim} is not divisible by ${numHeads} heads`);
    this.headDim = dim / numHeads;
    this.qkv = this.child('qkv', new Linear(dim, dim * 3, { bias: options.qkvBias ?? true, init: 'trunc_normal' }));
    this.attnDrop = this.child('attn_drop', new Dropout(options.attnDrop ?? 0));
    this.proj = this.child('proj', new Linear(dim, dim, { init: 'trunc_normal' }));
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    const [b, n] = x.shape;
    const h = this.numHeads;
    const d = this.headDim;
    // [B, N, 3, H, D] -> [3, B, H, N, D]
    const qkv = tf.transpose(tf.reshape(this.qkv.forward(x), [b, n, 3, h, d]), [2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(qkv, 0) as tf.Tensor4D[];
    const attn = this.attnDrop.forward(tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d))));
    const out = tf.reshape(tf.transpose(tf.matMul(attn as tf.Tensor4D, v), [0, 2, 1, 3]), [b, n, this.dim]);
    return this.proj.forward(out) as tf.Tensor3D;
  }
}

export class Mlp extends Layer {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(dim: number, hidden: number) {
    super();
    this.fc1 = this.child('fc1', new Linear(dim, hidden, { init: 'trunc_normal' }));
    this.fc2 = this.child('fc2', new Linear(hidden, dim, { init: 'trunc_normal' }));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(this.activate(this.fc1.forward(x)));
  }

  /** Training: GELU with its closed-form gradient (less memory); inference: the plain ops the exporters translate. */
  protected activate(h: tf.Tensor): tf.Tensor {
    return this.training ? geluTrain(h) : gelu(h);
  }
}

/** Pre-norm transformer block: x + DropPath(Attn(LN(x))), then x + DropPath(MLP(LN(x))). */
export class TransformerBlock extends Layer<tf.Tensor3D, tf.Tensor3D> {
  readonly norm1: LayerNorm;
  readonly attn: MultiHeadSelfAttention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;
  private readonly dropPath: DropPath;

  constructor(dim: number, numHeads: number, options: { mlpRatio?: number; qkvBias?: boolean; dropPath?: number } = {}) {
    super();
    this.norm1 = this.child('norm1', new LayerNorm(dim));
    this.attn = this.child('attn', new MultiHeadSelfAttention(dim, numHeads, { qkvBias: options.qkvBias }));
    this.norm2 = this.child('norm2', new LayerNorm(dim));
    this.mlp = this.child('mlp', new Mlp(dim, Math.round(dim * (options.mlpRatio ?? 4))));
    this.dropPath = this.child('drop_path', new DropPath(options.dropPath ?? 0));
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    const y = tf.add(x, this.dropPath.forward(this.attn.forward(this.norm1.forward(x) as tf.Tensor3D))) as tf.Tensor3D;
    return tf.add(y, this.dropPath.forward(this.mlp.forward(this.norm2.forward(y)))) as tf.Tensor3D;
  }
}
