/**
 * run.json: one schema for the trainer that writes it and every reader (the runs view, the panels,
 * `cvw report`, `cvw export`, benchmarks). Its output type is `RunInfo`.
 *
 * Versioned: `version` is written since version 1; a run.json without it (written before) is
 * version 0, which had the same fields, and is read as version 1. A later version that changes a
 * field adds a migration to `MIGRATIONS`; a run written by a newer cvw is refused with its version.
 *
 * Only `status` is required to read a run: fields an older or hand-edited run.json lacks, or holds
 * with the wrong type, read as "unknown" (0, '', absent) so that a reader still shows the run.
 */
import { z } from 'zod';
import { UserError } from '../core/problems';
import { RUN_STATUSES } from './status';

export const RUN_INFO_VERSION = 1;

/** A number, an unknown one (0) when missing or not a number. */
const count = z.number().catch(0);
/** A string, an unknown one ('') when missing or not a string. */
const text = z.string().catch('');
/** An optional field: dropped when it does not have its type. */
const optional = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);

const bestSchema = z.object({ metric: z.string(), value: z.number(), iter: z.number(), epoch: z.number() });

export const runInfoSchema = z.object({
  version: z.literal(RUN_INFO_VERSION),
  /** `pending`: submitted to a scheduler (Slurm), not started yet. */
  status: z.enum(RUN_STATUSES),
  /** The writing process (0: unknown, reads as gone). */
  pid: z.number().int().catch(0),
  /**
   * When the writing process started (ms since the epoch, from /proc; Linux): with the pid it names
   * the process, where a pid alone may since belong to another one, or come with a copied run.
   */
  pid_started: optional(z.number()),
  hostname: text,
  /** The config file the run was started from (absolute), and its stem. */
  config: text,
  config_stem: text,
  /** The run directory's basename (set by the writer, on creation and on resume). */
  run_id: text,
  command: z.array(z.string()).catch([]),
  cvw_version: text,
  engine: optional(z.object({ backend: z.string(), engine: z.string().optional(), reason: z.string().optional() })),
  /** ISO times. */
  started: text,
  ended: optional(z.string()),
  /** Progress at the last update. */
  epoch: count,
  iter: count,
  max_iters: count,
  max_epochs: count,
  /** Latest training loss and the best evaluation metric so far. */
  last_loss: optional(z.number()),
  best: optional(bestSchema),
  /** Final evaluation metrics (`val/accuracy_top1`); a non-finite one (null in JSON) reads as NaN. */
  metrics: optional(z.record(z.string(), z.number().catch(NaN))),
  error: optional(z.object({ message: z.string(), stack: z.string().optional(), iter: z.number().optional() })),
  resumed_from: optional(z.array(z.string())),
  /** Seconds between each stop and the resume that continued it, summed: not the run's time. */
  paused_s: optional(z.number().min(0)),
  /** Data-parallel runs: the number of ranks and each rank's host (rank order). */
  world_size: optional(z.number().int()),
  hosts: optional(z.array(z.string())),
  /** Runs submitted to Slurm: the job id, and when it was submitted. */
  slurm_job_id: optional(z.string()),
  submitted: optional(z.string()),
});

export type RunInfo = z.output<typeof runInfoSchema>;

/** Version N-1 → N, for each N > 1 (version 0 → 1 only added `version`). */
const MIGRATIONS: Record<number, (old: Record<string, unknown>) => Record<string, unknown>> = {};

/** The version of a parsed run.json: 0 when it has none (written before versions). */
function versionOf(raw: Record<string, unknown>): number {
  return raw.version === undefined ? 0 : typeof raw.version === 'number' && Number.isInteger(raw.version) && raw.version >= 0 ? raw.version : NaN;
}

/**
 * run.json's parsed JSON as the current version's `RunInfo`; `where` (the file) names it in errors,
 * which also give the key and what was expected.
 */
export function parseRunInfo(json: unknown, where: string): RunInfo {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UserError(`${where}: expected a JSON object (a run's record)`);
  let raw = json as Record<string, unknown>;
  const version = versionOf(raw);
  if (Number.isNaN(version)) throw new UserError(`${where}: version: expected a whole number, got ${JSON.stringify(raw.version)}`);
  if (version > RUN_INFO_VERSION) throw new UserError(`${where}: written by a newer cvw (run.json version ${version}; this one reads up to ${RUN_INFO_VERSION}): update cv-workbench to open it`);
  for (let v = Math.max(version, 1) + 1; v <= RUN_INFO_VERSION; v++) raw = MIGRATIONS[v](raw);
  const parsed = runInfoSchema.safeParse({ ...raw, version: RUN_INFO_VERSION });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${where}: ${issue.path.join('.') || 'root'}: ${issue.message} (got ${JSON.stringify(pick(raw, issue.path))})`);
  }
  return parsed.data;
}

function pick(value: unknown, keys: readonly PropertyKey[]): unknown {
  return keys.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), value);
}
