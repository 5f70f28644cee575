/**
 * DINO's projection head (Caron et al., Emerging Properties in Self-Supervised Vision Transformers,
 * ICCV 2021, arXiv:2104.14294, Section 3.1 and Appendix): a 3-layer MLP with GELU (hidden 2048),
 * a bottleneck (256), L2 normalisation, and a weight-normalised linear layer to K outputs
 * (Salimans and Kingma, Weight Normalization, 2016) whose scale g is fixed to 1 by default
 * (`norm_last_layer`), which the authors found stabilises training. The last layer can be held
 * still during the first epoch (DINO's `freeze_last_layer`): the DINO algorithm does that through
 * `lastLayerVariables()`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../../core/registry';
import { UserError } from '../../core/problems';
import { Module, Layer } from '../nn/module';
import { BatchNorm, Linear, gelu, globalAvgPool } from '../nn/layers';
import * as init from '../nn/init';
import { l2Normalize } from '../nn/l2Normalize';

export const dinoHeadParams = z.strictObject({
  in_channels: z.number().int().min(1).optional().describe('Width of the backbone features (default: the backbone\'s last output)'),
  out_channels: z.number().int().min(1).default(65536).describe('K, the number of output dimensions (65536 in the paper; 1024-4096 for small data)'),
  hid_channels: z.number().int().min(1).default(2048).describe('Width of the hidden layers'),
  bottleneck_channels: z.number().int().min(1).default(256).describe('Width of the bottleneck before the weight-normalised layer'),
  num_layers: z.number().int().min(1).max(8).default(3).describe('Linear layers of the MLP before the bottleneck output (3 in the paper)'),
  use_bn: z.boolean().default(false).describe('Batch norm in the MLP (off for ViTs, on for ResNets in the paper)'),
  norm_last_layer: z.boolean().default(true).describe('Fix the weight-norm scale g of the last layer to 1 (more stable; false can give better ViT-S results)'),
});

export type DINOHeadParams = z.output<typeof dinoHeadParams>;

/** Linear layer without bias, W = g * v / ||v|| column by column (weights `[in, out]`). */
export class WeightNormLinear extends Layer {
  readonly weightV: tf.Variable;
  readonly weightG?: tf.Variable;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    learnScale: boolean,
  ) {
    super();
    // PyTorch's default uniform(+-1/sqrt(in)), as DINO leaves this layer out of its trunc-normal init.
    this.weightV = this.param('weight_v', init.uniform([inFeatures, outFeatures], 1 / Math.sqrt(inFeatures)));
    if (learnScale) this.weightG = this.param('weight_g', init.ones([outFeatures]), 'norm');
  }

  forward(x: tf.Tensor): tf.Tensor {
    const norms = tf.norm(this.weightV, 'euclidean', 0, true);
    let w = tf.div(this.weightV, norms);
    if (this.weightG) w = tf.mul(w, this.weightG);
    return tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  }
}

export class DINOHead extends Module {
  readonly layers: Linear[] = [];
  readonly bns: Array<BatchNorm | undefined> = [];
  readonly lastLayer: WeightNormLinear;

  constructor(readonly params: DINOHeadParams) {
    super();
    const inC = params.in_channels;
    if (!inC) throw new UserError('DINOHead: in_channels is unknown; set it, or use a backbone that reports its channels');
    const n = Math.max(1, params.num_layers);
    const widths = n === 1 ? [inC, params.bottleneck_channels] : [inC, ...Array.from({ length: n - 1 }, () => params.hid_channels), params.bottleneck_channels];
    for (let i = 0; i < n; i++) {
      this.layers.push(this.child(`mlp.${i}`, new Linear(widths[i], widths[i + 1], { init: 'trunc_normal' })));
      this.bns.push(params.use_bn && i < n - 1 ? this.child(`bn.${i}`, new BatchNorm(widths[i + 1])) : undefined);
    }
    this.lastLayer = this.child('last_layer', new WeightNormLinear(params.bottleneck_channels, params.out_channels, !params.norm_last_layer));
  }

  /** Outputs `[batch, K]` (logits of the DINO distributions) from the last backbone feature. */
  forward(features: tf.Tensor[]): tf.Tensor2D {
    let x = features[features.length - 1];
    if (x.rank === 4) x = globalAvgPool(x as tf.Tensor4D);
    this.layers.forEach((fc, i) => {
      x = fc.forward(x);
      if (i < this.layers.length - 1) {
        const bn = this.bns[i];
        if (bn) x = bn.forward(x);
        x = gelu(x);
      }
    });
    return this.lastLayer.forward(l2Normalize(x)) as tf.Tensor2D;
  }

  /** The variables of the weight-normalised last layer (frozen during DINO's first epoch). */
  lastLayerVariables(): tf.Variable[] {
    return this.lastLayer.namedParameters().map(([, p]) => p.variable);
  }
}

register('head', {
  type: 'DINOHead',
  description: 'DINO projection head: GELU MLP, bottleneck, L2 normalisation and a weight-normalised output layer',
  paper: 'Caron et al., Emerging Properties in Self-Supervised Vision Transformers (DINO), ICCV 2021, arXiv:2104.14294',
  params: dinoHeadParams,
  build: (p) => new DINOHead(p),
});
