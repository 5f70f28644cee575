/**
 * ResNet (He et al., Deep Residual Learning for Image Recognition, CVPR 2016, arXiv:1512.03385).
 *
 * Depths 18/34 use basic blocks, 50 uses bottlenecks. The `cifar` stem (a 3x3 convolution, no
 * max-pool) keeps small images (28x28, 32x32) from shrinking to nothing before the first stage.
 */
import { z } from 'zod';
import { register } from '../../core/registry';

export const resnetParams = z.strictObject({
  depth: z.literal([18, 34, 50]).default(18).describe('Number of layers: 18 and 34 use basic blocks, 50 bottlenecks'),
  stem: z.enum(['imagenet', 'cifar']).default('imagenet').describe('imagenet: 7x7/2 conv + 3x3/2 max-pool; cifar: one 3x3/1 conv, for images of 32x32 or less'),
  in_channels: z.number().int().min(1).default(3).describe('Channels of the input images (1 for Fashion-MNIST)'),
  base_width: z.number().int().min(1).default(64).describe('Channels of the first stage; each later stage doubles them'),
  out_indices: z.array(z.number().int().min(0).max(3)).min(1).default([3]).describe('Stages (0-3) whose feature maps are returned, for necks and heads'),
  frozen_stages: z.number().int().min(-1).max(4).default(-1).describe('Stages whose weights are frozen (0 = the stem, -1 = none)'),
  zero_init_residual: z.boolean().default(false).describe('Start the last norm of each block at zero so blocks begin as identities'),
});

register('backbone', {
  type: 'ResNet',
  description: 'Residual network with basic (18, 34) or bottleneck (50) blocks',
  paper: 'He et al., Deep Residual Learning for Image Recognition, CVPR 2016, arXiv:1512.03385',
  params: resnetParams,
});
