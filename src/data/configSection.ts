/** The `data` section: the datasets of each split and how they are read. */
import { z } from 'zod';
import { registerConfigSection } from '../core/rootSchema';
import { slot } from '../core/schema';

export const dataSchema = z
  .strictObject({
    train: slot('dataset', 'Training dataset').optional(),
    val: slot('dataset', 'Validation dataset').optional(),
    test: slot('dataset', 'Test dataset').optional(),
    workers: z.number().int().min(0).max(64).default(2).describe('Decoding worker threads (0 = decode on the main thread)'),
    prefetch: z.number().int().min(0).max(64).default(4).describe('Batches prepared ahead of the training step'),
    skip_corrupt: z.boolean().default(false).describe('Skip unreadable items, counting them and reporting them at the end of the epoch, instead of stopping'),
  })
  .describe('Datasets (train, val, test) and how they are read');

registerConfigSection('data', dataSchema.optional(), 30);

/** Loader parameters every dataset accepts (spread into each dataset schema). */
export const loaderParams = {
  batch_size: z.number().int().min(1).default(64).describe('Samples per batch'),
  shuffle: z.boolean().optional().describe('Shuffle every epoch (default: true for train, false otherwise)'),
  drop_last: z.boolean().optional().describe('Drop the last incomplete batch (default: true for train)'),
};

/**
 * What the `data` section holds under a split named in config text or on the command line
 * (`eval_pipelines[].split`, `cvw data inspect --split`, `cvw report --split`): own keys only, since `constructor` or
 * `__proto__` would find Object.prototype's members and pass for a dataset.
 */
export function dataSplit(data: Record<string, unknown> | undefined, split: string): unknown {
  return data && Object.hasOwn(data, split) ? data[split] : undefined;
}

/** The resolved `data` section. */
export type DataSectionConfig = z.output<typeof dataSchema>;
