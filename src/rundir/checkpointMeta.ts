/**
 * What the trainer saves with a checkpoint's weights (safetensors `__metadata__.cvw`): progress and
 * state to resume from. No generator state is needed beyond the seed: every random draw derives
 * from (seed, iteration) or (seed, epoch, sample index).
 */
import { z } from 'zod';
import { UserError } from '../core/problems';

const count = z.number().int().min(0);

export const checkpointMetaSchema = z.object({
  iter: count,
  epoch: count,
  batch_in_epoch: count,
  /** Ranks of the run that wrote it (batch_in_epoch counts each rank's batches). */
  world_size: z.number().int().min(1).optional(),
  /** Samples of the epoch's order consumed by all ranks together (to continue at another world size or batch size). */
  samples_in_epoch: count.optional(),
  /** Written at the end of `epoch`, after its evaluation: a resume starts the next epoch (absent: continue `epoch`). */
  epoch_done: z.boolean().optional(),
  seed: z.number().int(),
  /** Each hook's JSON state, by hook name. */
  hooks: z.record(z.string(), z.unknown()).optional(),
  /** The resolved config that trained it. */
  config: z.record(z.string(), z.unknown()),
  /** When it was written (ISO time). */
  saved: z.string(),
});

export type CheckpointMeta = z.output<typeof checkpointMetaSchema>;

/** A checkpoint's metadata as the trainer's state to resume from; errors name the file and the key. */
export function parseCheckpointMeta(file: string, meta: Record<string, unknown>): CheckpointMeta {
  const parsed = checkpointMetaSchema.safeParse(meta);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new UserError(`${file}: __metadata__.cvw.${issue.path.join('.')}: ${issue.message}; not a checkpoint the trainer wrote, so training cannot resume from it (use it as load_from instead)`);
}
