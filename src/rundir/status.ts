/**
 * A run's statuses, spelled out once. Imports nothing, so that the webviews (browser code) share
 * them with the trainer and the readers.
 */

/** What run.json says: `pending` is a run submitted to a scheduler (Slurm) that has not started. */
export const RUN_STATUSES = ['pending', 'running', 'finished', 'failed', 'stopped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * run.json's status, and two a reader adds for a run whose status says `running` but whose
 * process is gone: `interrupted` (a checkpoint exists: resume continues it) and `crashed` (none).
 */
export const RUN_STATES = [...RUN_STATUSES, 'interrupted', 'crashed'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** True for the states whose process is (as far as one can tell) working. */
export function isActive(state: RunState): boolean {
  return state === 'running';
}
