/** Supervised classification: backbone, optional neck, classification head. */
import { z } from 'zod';
import { register } from '../../core/registry';
import { slot } from '../../core/schema';

export const classificationParams = z.strictObject({
  backbone: slot('backbone', 'Feature extractor (ResNet, MobileNetV2, VisionTransformer, ...)'),
  neck: slot('neck', 'Optional neck between backbone and head').optional(),
  head: slot('head', 'Classification head (ClsHead)'),
  pretrained: z.string().optional().describe('Checkpoint whose backbone weights initialise this backbone (e.g. a self-supervised run)'),
  freeze_backbone: z.boolean().default(false).describe('Train only the neck and head (linear evaluation)'),
});

register('model', {
  type: 'Classification',
  description: 'Supervised image classification: backbone, optional neck, and a classification head',
  paper: 'EasyCV Classification',
  params: classificationParams,
});
