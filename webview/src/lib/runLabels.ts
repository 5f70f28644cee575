/** Short, unique names for runs shown together: the run id when they share a config, else config/id. */
import type { RunSummary } from '../../../src/report/model/run';

export function runLabels(runs: readonly RunSummary[]): string[] {
  const sameConfig = new Set(runs.map((r) => r.configStem)).size === 1;
  const labels = runs.map((r) => (sameConfig ? r.id : `${r.configStem}/${r.id}`));
  // Same config and id in different work_dirs: add a number.
  const seen = new Map<string, number>();
  return labels.map((l) => {
    const n = (seen.get(l) ?? 0) + 1;
    seen.set(l, n);
    return n > 1 ? `${l} (${n})` : l;
  });
}
