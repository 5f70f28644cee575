import { MAX_QUEUE_PARALLEL } from '../runs/queueRunner';

/**
 * The numeric settings, read within the bounds package.json declares for them (ids.test.ts checks
 * that both say the same). VS Code shows those bounds in the Settings editor but hands over
 * whatever a settings.json holds: a string read as a number is NaN, and NaN or 1e7 seconds made
 * the Slurm poll's setInterval fire every millisecond, NaN parallel runs started the whole queue.
 */
export const NUMBER_SETTINGS = {
  'runs.queueParallel': { default: 1, minimum: 1, maximum: MAX_QUEUE_PARALLEL, integer: true },
  'runs.stopGraceSeconds': { default: 60, minimum: 1, maximum: 3600, integer: false },
  'slurm.nodes': { default: 1, minimum: 1, maximum: 65536, integer: true },
  'slurm.ntasksPerNode': { default: 1, minimum: 1, maximum: 1024, integer: true },
  'slurm.gpusPerTask': { default: 0, minimum: 0, maximum: 64, integer: true },
  'slurm.pollSeconds': { default: 5, minimum: 1, maximum: 3600, integer: false },
} as const;

export type NumberSetting = keyof typeof NUMBER_SETTINGS;

/** `value` (a setting as read) within `key`'s bounds: its default when it is not a finite number. */
export function numberSetting(key: NumberSetting, value: unknown): number {
  const s = NUMBER_SETTINGS[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) return s.default;
  const n = Math.min(s.maximum, Math.max(s.minimum, value));
  return s.integer ? Math.floor(n) : n;
}
