/** Linear classification head: optional global average pooling, dropout, and a fully-connected layer. */
import { z } from 'zod';
import { register } from '../../core/registry';

export const clsHeadParams = z.strictObject({
  num_classes: z.number().int().min(1).describe('Number of classes'),
  in_channels: z.number().int().min(1).optional().describe('Channels of the incoming features (default: taken from the backbone or neck)'),
  with_avg_pool: z.boolean().default(true).describe('Average the feature map over space before the linear layer'),
  dropout: z.number().min(0).max(1).default(0).describe('Dropout probability before the linear layer'),
  label_smoothing: z.number().min(0).max(1).default(0).describe('Label smoothing of the cross-entropy loss (0.1 is typical)'),
});

register('head', {
  type: 'ClsHead',
  description: 'Classification head: average pooling, dropout and a linear layer, trained with cross-entropy',
  paper: 'EasyCV ClsHead; label smoothing from Szegedy et al., Rethinking the Inception Architecture, CVPR 2016',
  params: clsHeadParams,
});
