/**
 * Datasets: a source plus what to make of each item. ClsDataset gives one view and a label,
 * MultiViewDataset several views of the same image (SimCLR's two, SwAV/DINO multi-crop with views
 * of different sizes), DetDataset one view with its boxes. Building one validates the source and
 * every pipeline step; the loader opens the source and runs the pipelines in its workers.
 */
import { z } from 'zod';
import { register, type BuildContext } from '../core/registry';
import { slot, type ComponentConfig } from '../core/schema';
import { UserError } from '../core/problems';
import { loaderParams } from './configSection';
import type { PipelineStep } from './pipeline';
import type { SourceFactory } from './types';

/** One view: the step configs (sent to workers, which build their own) and the built steps. */
export interface ViewPlan {
  steps: ComponentConfig[];
  pipeline: PipelineStep[];
}

/** What a built dataset is: everything the loader needs to read it. */
export interface DatasetPlan {
  type: string;
  source: SourceFactory;
  /** Views in batch order: `Batch.views[v]` comes from `views[v]`. */
  views: ViewPlan[];
  /** Steps run once on each image before every view's own (MultiViewDataset's shared_pipeline). */
  shared?: ViewPlan;
  batchSize: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** Carry boxes through the pipeline into the batch (detection). */
  withBoxes: boolean;
  /** Decode each item's mask and move it with view 0 (segmentation). */
  withMasks?: boolean;
}

export const pipelineParam = z.array(slot('pipeline')).default([]).describe('Steps applied in order to each decoded image (RandomResizedCrop, ColorJitter, ToTensor, Normalize, ...)');

export function viewPlan(steps: ComponentConfig[], ctx: BuildContext): ViewPlan {
  return { steps, pipeline: steps.map((s) => ctx.build<PipelineStep>('pipeline', s)) };
}

/** A shared pipeline: no mixing steps (the partners they take are view 0's). */
function sharedPlan(steps: ComponentConfig[], ctx: BuildContext): ViewPlan {
  const plan = viewPlan(steps, ctx);
  const mixing = plan.pipeline.filter((s) => s.mixImages).map((s) => s.type);
  if (mixing.length) throw new UserError(`shared_pipeline: ${mixing.join(', ')} mix${mixing.length === 1 ? 'es' : ''} other images into one view; put it in a view's pipeline`);
  return plan;
}

export function loaderOptions(p: { batch_size: number; shuffle?: boolean; drop_last?: boolean }) {
  return { batchSize: p.batch_size, shuffle: p.shuffle, dropLast: p.drop_last };
}

register('dataset', {
  type: 'ClsDataset',
  description: 'Classification: one view of each image through the pipeline, and its label',
  paper: 'EasyCV ClsDataset',
  params: z.strictObject({
    source: slot('source', 'Where the images come from: ImageFolder, ImageList, FashionMNIST, CIFAR10, TFRecord, ...'),
    pipeline: pipelineParam,
    ...loaderParams,
  }),
  build: (p, ctx): DatasetPlan => ({
    type: 'ClsDataset',
    source: ctx.build<SourceFactory>('source', p.source),
    views: [viewPlan(p.pipeline, ctx)],
    withBoxes: false,
    ...loaderOptions(p),
  }),
});

register('dataset', {
  type: 'MultiViewDataset',
  description: 'Self-supervised views: `num` views of each image through each pipeline; views of different sizes become separate batch entries',
  paper: 'SimCLR (Chen et al., arXiv:2002.05709) two views; SwAV multi-crop (Caron et al., arXiv:2006.09882); DINO (Caron et al., arXiv:2104.14294)',
  params: z.strictObject({
    source: slot('source', 'Where the images come from (labels, when present, are passed along for kNN / linear evaluation)'),
    views: z
      .array(
        z.strictObject({
          pipeline: pipelineParam,
          num: z.number().int().min(1).default(1).describe('How many views this pipeline makes of each image (SimCLR: 2; DINO: 2 global and 8 local)'),
        }),
      )
      .min(1)
      .describe('Groups of views: each group runs its pipeline `num` times with independent random choices'),
    shared_pipeline: z
      .array(slot('pipeline'))
      .default([])
      .describe("Steps run once on each image before the views' pipelines, so that every view starts from the same result (timm's AugMix splits: one crop, then a clean view and augmented ones)"),
    ...loaderParams,
  }),
  build: (p, ctx): DatasetPlan => ({
    type: 'MultiViewDataset',
    source: ctx.build<SourceFactory>('source', p.source),
    shared: p.shared_pipeline.length ? sharedPlan(p.shared_pipeline, ctx) : undefined,
    views: p.views.flatMap((g) => {
      const plan = viewPlan(g.pipeline, ctx);
      return Array.from({ length: g.num }, () => plan);
    }),
    withBoxes: false,
    ...loaderOptions(p),
  }),
});

register('dataset', {
  type: 'DetDataset',
  description: 'Detection: one view of each image with its boxes moved by the geometric steps (Resize, flips, crops)',
  paper: 'EasyCV DetDataset; COCO (Lin et al., arXiv:1405.0312)',
  params: z.strictObject({
    source: slot('source', 'A detection source (COCO)'),
    pipeline: pipelineParam,
    ...loaderParams,
  }),
  build: (p, ctx): DatasetPlan => ({
    type: 'DetDataset',
    source: ctx.build<SourceFactory>('source', p.source),
    views: [viewPlan(p.pipeline, ctx)],
    withBoxes: true,
    ...loaderOptions(p),
  }),
});
