/**
 * How long a run has run: from its start to its end (or now), less the time it sat stopped between
 * a stop and the resume that continued it (run.json `paused_s`, summed by the writer at each
 * resume). Imports nothing: the webviews share it with the runs table and the benchmarks.
 */
export function runDurationMs(startedMs: number, endMs: number, pausedS = 0): number {
  return Math.max(0, endMs - startedMs - pausedS * 1000);
}
