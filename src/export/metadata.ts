/**
 * The metadata an export carries so that a predictor can use it without the run that made it:
 * task, class names, the input's layout and size, and the pre-processing to apply. Stored as JSON
 * under the key `cvw` — in the ONNX model's metadata_props, and in TF.js's model.json
 * `userDefinedMetadata`.
 */
import { z } from 'zod';
import { UserError } from '../core/problems';

export const METADATA_KEY = 'cvw';

export const TASKS = ['classification', 'features', 'detection', 'segmentation'] as const;
export type Task = (typeof TASKS)[number];

const stepSchema = z.looseObject({ type: z.string() });

export const exportMetadataSchema = z.strictObject({
  format: z.literal('cvw-export'),
  version: z.literal(1),
  producer: z.string(),
  created: z.string(),
  /** What the outputs mean: logits (+ features) for classifiers, features only for self-supervised models. */
  task: z.enum(TASKS),
  model: z.string().describe('The algorithm type (Classification, SimCLR, ...)'),
  backbone: z.string().optional(),
  /** Output name -> what it holds. */
  outputs: z.record(z.string(), z.strictObject({ kind: z.string(), shape: z.array(z.union([z.number(), z.string()])) })),
  classes: z.array(z.string()).optional(),
  input: z.strictObject({
    name: z.string(),
    layout: z.enum(['NCHW', 'NHWC']),
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    channels: z.number().int().positive(),
    /** 'dynamic', or the one batch size the graph takes. */
    batch: z.union([z.literal('dynamic'), z.number().int().positive()]),
  }),
  preprocess: z.strictObject({
    /** Resize and normalisation are inside the graph: feed raw 0-255 pixels of any size. */
    in_graph: z.boolean(),
    /** Pipeline steps to run before the graph (the run's evaluation pipeline) when not in the graph. */
    steps: z.array(stepSchema),
    /** Per-channel `(x * scale - mean) / std` the graph applies when in_graph. */
    scale: z.number().optional(),
    mean: z.array(z.number()).optional(),
    std: z.array(z.number()).optional(),
  }),
  source: z
    .strictObject({
      run: z.string().optional(),
      checkpoint: z.string(),
      weights: z.enum(['ema', 'model']),
      epoch: z.number().optional(),
      iter: z.number().optional(),
    })
    .optional(),
});

export type ExportMetadata = z.output<typeof exportMetadataSchema>;

/** Parse metadata JSON from a model file; `where` names the file in errors. */
export function parseMetadata(json: unknown, where: string): ExportMetadata {
  let value = json;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new UserError(`${where}: its "${METADATA_KEY}" metadata is not JSON`);
    }
  }
  const parsed = exportMetadataSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${where}: its "${METADATA_KEY}" metadata is not a CV Workbench export description (${issue.path.join('.') || 'root'}: ${issue.message})`);
  }
  return parsed.data;
}
