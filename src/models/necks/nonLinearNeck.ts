/**
 * Projection and prediction MLPs of self-supervised methods (EasyCV's NonLinearNeck family).
 *
 * One configurable MLP, `fc (-> bn) -> relu -> ... -> fc (-> bn)`, and named variants that only
 * set defaults, each citing the method it comes from (as lightly's heads do):
 *   NonLinearNeckV1      MoCo v2  fc-relu-fc                       (Chen et al., arXiv:2003.04297)
 *   NonLinearNeckV2      BYOL     fc-bn-relu-fc                    (Grill et al., arXiv:2006.07733)
 *   NonLinearNeckSimCLR  SimCLR   fc-bn-relu-fc-bn, no biases      (Chen et al., arXiv:2002.05709)
 *   NonLinearNeckSwav    SwAV     fc-bn-relu-fc                    (Caron et al., arXiv:2006.09882)
 * Features from convolutional backbones (NHWC) are averaged over space first; transformer
 * features (`[batch, dim]`) pass as they are.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Module } from '../nn/module';
import { BatchNorm, Linear, globalAvgPool } from '../nn/layers';
import type { Neck } from '../backbones/types';

const mlpShape = {
  in_channels: z.number().int().min(1).optional().describe('Width of the incoming features (default: the backbone\'s last output)'),
  hid_channels: z.number().int().min(1).default(2048).describe('Width of the hidden layers (2048 in SimCLR/MoCo v2, 4096 in BYOL; 256-512 for small encoders)'),
  out_channels: z.number().int().min(1).default(128).describe('Width of the output (128 in SimCLR/MoCo/SwAV, 256 in BYOL)'),
  num_layers: z.number().int().min(1).max(8).default(2).describe('Linear layers (2 = one hidden layer)'),
  with_bias: z.boolean().default(true).describe('Biases in the linear layers (SimCLR leaves them out: batch norm follows)'),
  with_bn: z.boolean().default(true).describe('Batch norm after each hidden linear layer'),
  with_last_bn: z.boolean().default(false).describe('Batch norm after the last linear layer (SimCLR)'),
  last_bn_affine: z.boolean().default(true).describe('Learned scale and shift of the last batch norm'),
  with_avg_pool: z.boolean().default(true).describe('Average NHWC feature maps over space before the MLP'),
};

export const nonLinearNeckParams = z.strictObject(mlpShape);
export type NonLinearNeckParams = z.output<typeof nonLinearNeckParams>;

export class NonLinearNeck extends Module implements Neck {
  readonly outChannels: number[];
  readonly fcs: Linear[] = [];
  readonly bns: Array<BatchNorm | undefined> = [];

  constructor(readonly params: NonLinearNeckParams) {
    super();
    const inC = params.in_channels;
    if (!inC) throw new UserError('NonLinearNeck: in_channels is unknown; set it, or use a backbone that reports its channels');
    const widths = [inC, ...Array.from({ length: params.num_layers - 1 }, () => params.hid_channels), params.out_channels];
    for (let i = 0; i < params.num_layers; i++) {
      const last = i === params.num_layers - 1;
      this.fcs.push(this.child(`fc${i}`, new Linear(widths[i], widths[i + 1], { bias: params.with_bias })));
      const bn = last ? params.with_last_bn : params.with_bn;
      this.bns.push(bn ? this.child(`bn${i}`, new BatchNorm(widths[i + 1], { affine: last ? params.last_bn_affine : true })) : undefined);
    }
    this.outChannels = [params.out_channels];
  }

  /** The MLP on one `[batch, in_channels]` (or NHWC) tensor. */
  project(x: tf.Tensor): tf.Tensor2D {
    let y = x.rank === 4 ? (this.params.with_avg_pool ? globalAvgPool(x as tf.Tensor4D) : tf.reshape(x, [x.shape[0], -1])) : x;
    this.fcs.forEach((fc, i) => {
      y = fc.forward(y);
      const bn = this.bns[i];
      if (bn) y = bn.forward(y);
      if (i < this.fcs.length - 1) y = tf.relu(y);
    });
    return y as tf.Tensor2D;
  }

  forward(features: tf.Tensor[]): tf.Tensor2D[] {
    return [this.project(features[features.length - 1])];
  }
}

register('neck', {
  type: 'NonLinearNeck',
  description: 'Projection MLP: linear layers with batch norm and ReLU between them, optional batch norm at the end',
  paper: 'Chen et al., SimCLR, ICML 2020, arXiv:2002.05709 (the projection head g); EasyCV NonLinearNeck',
  params: nonLinearNeckParams,
  build: (p) => new NonLinearNeck(p),
});

/** A variant: the same MLP with other defaults. */
function variant(type: string, description: string, paper: string, defaults: Partial<NonLinearNeckParams>): void {
  const shape = { ...mlpShape } as Record<string, z.ZodType>;
  for (const [k, v] of Object.entries(defaults)) {
    const base = (mlpShape as Record<string, z.ZodType>)[k];
    shape[k] = (base as unknown as { unwrap(): z.ZodType }).unwrap().default(v as never).describe(base.description ?? '');
  }
  register('neck', {
    type,
    description,
    paper,
    params: z.strictObject(shape),
    build: (p) => new NonLinearNeck(p as NonLinearNeckParams),
  });
}

variant('NonLinearNeckV1', 'MoCo v2 projection MLP: fc-relu-fc (no batch norm)', 'Chen et al., Improved Baselines with Momentum Contrastive Learning (MoCo v2), arXiv:2003.04297', {
  with_bn: false,
});
variant('NonLinearNeckV2', 'BYOL projector and predictor: fc-bn-relu-fc', 'Grill et al., Bootstrap Your Own Latent (BYOL), NeurIPS 2020, arXiv:2006.07733, Section 3.3', {
  hid_channels: 4096,
  out_channels: 256,
});
variant('NonLinearNeckSimCLR', 'SimCLR projection head: fc-bn-relu-fc-bn, no biases', 'Chen et al., SimCLR, ICML 2020, arXiv:2002.05709, Appendix B.9; SimCLR v2 (arXiv:2006.10029) adds the last batch norm', {
  with_bias: false,
  with_last_bn: true,
  last_bn_affine: false,
});
variant('NonLinearNeckSwav', 'SwAV projection head: fc-bn-relu-fc (its output is L2-normalised by the SwAV head)', 'Caron et al., Unsupervised Learning of Visual Features by Contrasting Cluster Assignments (SwAV), NeurIPS 2020, arXiv:2006.09882', {});
