/** SegDataset: one view of each image with its mask moved by the geometric steps (nearest-neighbour). */
import { z } from 'zod';
import { register } from '../core/registry';
import { slot } from '../core/schema';
import { loaderParams } from './configSection';
import { loaderOptions, pipelineParam, viewPlan, type DatasetPlan } from './datasets';
import type { SourceFactory } from './types';

register('dataset', {
  type: 'SegDataset',
  description: 'Semantic segmentation: one view of each image and its class mask, moved by the geometric steps (Resize, crops, flips)',
  paper: 'mmsegmentation CustomDataset',
  params: z.strictObject({
    source: slot('source', 'A segmentation source (SegFolder, VOCSegmentation)'),
    pipeline: pipelineParam,
    ...loaderParams,
  }),
  build: (p, ctx): DatasetPlan => ({
    type: 'SegDataset',
    source: ctx.build<SourceFactory>('source', p.source),
    views: [viewPlan(p.pipeline, ctx)],
    withBoxes: false,
    withMasks: true,
    ...loaderOptions(p),
  }),
});
