/**
 * The training sections of a config: the model, the optimizer and its schedule, the runner's
 * limits, hooks, evaluation pipelines and checkpoints.
 */
import { z } from 'zod';
import { registerConfigSection } from '../core/rootSchema';
import { slot } from '../core/schema';
import { DEFAULT_COLLECTIVE_TIMEOUT_S } from '../distributed/world';

registerConfigSection('model', slot('model', 'The algorithm to train: Classification, SimCLR, MoCoV2, BYOL, SwAV, MoBY, DINO, MAE, YOLOX, ...').optional(), 20);

registerConfigSection('optimizer', slot('optimizer', 'Optimizer: SGD, AdamW or LARS, with per-parameter options').optional(), 40);

registerConfigSection('lr_schedule', slot('lr_schedule', 'Learning-rate schedule, with optional warm-up').optional(), 41);

export const gradClipSchema = z
  .strictObject({
    max_norm: z.number().positive().describe('Largest L2 norm of the gradients (all together, or each parameter\'s: see per); larger ones are scaled down'),
    per: z
      .enum(['model', 'parameter'])
      .default('model')
      .describe("model: one norm over all gradients (PyTorch's clip_grad_norm_, MoBY); parameter: each parameter's gradient on its own (DINO's clip_gradients)"),
  })
  .describe('Gradient clipping by L2 norm');

export const runnerSchema = z
  .strictObject({
    max_epochs: z.number().int().min(1).optional().describe('Number of epochs (one pass over data.train each)'),
    max_iters: z.number().int().min(1).optional().describe('Number of iterations; caps max_epochs when both are set'),
    log_interval: z.number().int().min(1).default(10).describe('Iterations between metric lines in metrics.jsonl and the terminal'),
    grad_clip: gradClipSchema.optional(),
    accumulate_steps: z.number().int().min(1).default(1).describe('Batches whose gradients are averaged into one optimizer step (the last step of an epoch takes the batches left over)'),
    sync_bn: z.boolean().default(false).describe('Data-parallel runs: batch norm statistics over the batches of all ranks (SyncBatchNorm) instead of each rank\'s own'),
    collective_timeout: z.number().positive().default(DEFAULT_COLLECTIVE_TIMEOUT_S).describe('Data-parallel runs: seconds a rank waits for the others in an allreduce; past them the job ends, naming the ranks that never came'),
  })
  .default({ log_interval: 10, accumulate_steps: 1, sync_bn: false, collective_timeout: DEFAULT_COLLECTIVE_TIMEOUT_S })
  .describe('How long to train and how to step');

registerConfigSection('runner', runnerSchema, 42);

registerConfigSection('hooks', z.array(slot('hook')).default([]).describe('Extra hooks, run in order of their priority (checkpoints, evaluation, EMA, momentum schedules, ...)'), 43);

export const evalPipelineSchema = z
  .strictObject({
    name: z.string().optional().describe('Name used as the prefix of its metrics (default: the split or "eval")'),
    split: z.string().optional().describe('A dataset of the data section to evaluate on (val, test)'),
    data: slot('dataset', 'A dataset of its own, instead of a split of the data section').optional(),
    evaluators: z.array(slot('evaluator')).min(1).describe('Evaluators computing metrics on this dataset'),
    interval: z.number().int().min(1).default(1).describe('Epochs between evaluations'),
  })
  .describe('A dataset to evaluate on during training, with its evaluators');

registerConfigSection('eval_pipelines', z.array(evalPipelineSchema).default([]).describe('Evaluation during training and by `cvw eval`'), 44);

export const checkpointSchema = z
  .strictObject({
    interval: z.number().int().min(1).default(1).describe('Epochs between epoch_N checkpoints (latest is written every epoch)'),
    keep: z.number().int().min(0).default(3).describe('How many epoch_N checkpoints to keep (0 = all)'),
    save_best: z.string().optional().describe('Metric that picks the best checkpoint, e.g. val/accuracy_top1'),
    rule: z.enum(['greater', 'less']).default('greater').describe('Whether a larger or a smaller value of save_best is better'),
  })
  .default({ interval: 1, keep: 3, rule: 'greater' })
  .describe('Checkpoints: epoch_N, latest and best');

registerConfigSection('checkpoint', checkpointSchema, 45);

registerConfigSection('load_from', z.string().optional().describe('A checkpoint (or run directory) whose weights initialise the model; keys that do not match are reported'), 46);
