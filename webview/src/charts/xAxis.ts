/**
 * The x axes of metric charts: iteration, epoch (fractional: iteration / iterations per epoch),
 * wall-clock time, or time since the run started. Each maps a row of a split to its x.
 */
import type { XAxis } from '../../../src/extension/protocol';
import type { MetricRows } from '../../../src/report/model/thinning';

export interface RunClock {
  /** Iterations per epoch (max_iters / max_epochs), when known. */
  itersPerEpoch?: number;
  /** The run's start, Unix seconds (for `relative`). */
  startSeconds?: number;
}

export const X_LABELS: Record<XAxis, string> = {
  iter: 'iteration',
  epoch: 'epoch',
  wall: 'wall time',
  relative: 'time since start',
};

/** `row → x` for `axis`; NaN for a row without what the axis needs. */
export function xAccessor(series: MetricRows, axis: XAxis, clock: RunClock): (row: number) => number {
  const iter = series.column('iter');
  const time = series.column('time');
  const epoch = series.column('epoch');
  switch (axis) {
    case 'iter':
      return iter ? (i) => iter.at(i) : (i) => i;
    case 'epoch': {
      const per = clock.itersPerEpoch;
      if (per && iter) return (i) => iter.at(i) / per;
      return epoch ? (i) => epoch.at(i) : (i) => i;
    }
    case 'wall':
      return time ? (i) => time.at(i) : () => NaN;
    case 'relative': {
      if (!time) return () => NaN;
      const t0 = clock.startSeconds ?? firstFinite(time.values);
      return (i) => time.at(i) - t0;
    }
    default: {
      const unhandled: never = axis;
      throw new Error(`unknown x axis ${String(unhandled)}`);
    }
  }
}

function firstFinite(v: Float64Array): number {
  for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i])) return v[i];
  return 0;
}

/** Tick text of a `relative` axis: `45s`, `12m`, `1h30`. */
export function formatElapsedTick(seconds: number): string {
  if (!Number.isFinite(seconds)) return '';
  const s = Math.round(seconds);
  if (Math.abs(s) < 60) return `${s}s`;
  if (Math.abs(s) < 3600) return `${Math.floor(s / 60)}m${s % 60 ? String(s % 60).padStart(2, '0') : ''}`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}h${m ? String(m).padStart(2, '0') : ''}`;
}
