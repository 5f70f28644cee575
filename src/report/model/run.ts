/**
 * What the panels show about a run besides its curves: a summary of run.json (status, config,
 * engine, progress, timing) in the shape the webviews render — a view of src/rundir's `RunInfo`.
 * Browser-safe (it imports src/rundir's types, its statuses and its duration, nothing else).
 */
import type { RunInfo } from '../../rundir/schema';
import { RUN_STATES, type RunState } from '../../rundir/status';
import { runDurationMs } from '../../rundir/duration';
import type { MetricTable } from './metrics';

export interface RunSummary {
  /** The run directory (absolute): the run's identity everywhere. */
  dir: string;
  id: string;
  configStem: string;
  /** The config file the run was started from. */
  configFile?: string;
  /** Its state (`pending`: a Slurm job not started yet); a status the panel does not know is `unknown`. */
  status: RunState | 'unknown';
  /** The backend that ran it and why (`wasm — no GPU`), when known. */
  engine?: string;
  /** ISO times. */
  started?: string;
  ended?: string;
  /** Seconds it sat stopped before a resume (not counted in its duration). */
  pausedS?: number;
  epoch: number;
  iter: number;
  maxIters: number;
  maxEpochs: number;
  lastLoss?: number;
  best?: { metric: string; value: number; iter: number; epoch: number };
  /** Final evaluation metrics (`val/accuracy_top1`). */
  metrics?: Record<string, number>;
  error?: string;
  /** The algorithm (`model.type` of the config), when the config was read. */
  model?: string;
}

/** A run as a panel first receives it: the summary, its resolved config, every metric row. */
export interface RunSnapshot {
  summary: RunSummary;
  /** config.yaml as written by the trainer (text), for display. */
  configText?: string;
  /** The resolved config as an object (for comparisons). */
  config?: Record<string, unknown>;
  tables: MetricTable[];
  /** Numeric values of metrics.jsonl left out of `tables`: its splits or columns past the bounds (MetricKeys). */
  metricsLeftOut?: number;
}

const STATUSES: ReadonlySet<string> = new Set(RUN_STATES);

/**
 * The summary of run.json `info` (undefined: unreadable) of the run in `dir`; `state` is what a
 * reader made of it (a `running` run whose process died is `interrupted`), when known.
 */
export function summarize(dir: string, info: RunInfo | undefined, model?: string, state?: string): RunSummary {
  const base = dir.replace(/[\\/]+$/, '');
  const id = info?.run_id || base.slice(Math.max(base.lastIndexOf('/'), base.lastIndexOf('\\')) + 1);
  const engine = info?.engine ? [info.engine.engine ?? info.engine.backend, info.engine.reason].filter(Boolean).join(' — ') : undefined;
  return {
    dir,
    id,
    configStem: info?.config_stem || 'run',
    configFile: info?.config || undefined,
    status: statusOf(state ?? info?.status),
    engine: engine || undefined,
    started: info?.started || undefined,
    ended: info?.ended,
    pausedS: info?.paused_s,
    epoch: info?.epoch ?? 0,
    iter: info?.iter ?? 0,
    maxIters: info?.max_iters ?? 0,
    maxEpochs: info?.max_epochs ?? 0,
    lastLoss: info?.last_loss,
    best: info?.best,
    metrics: info?.metrics,
    error: info?.error?.message,
    model,
  };
}

function statusOf(s: string | undefined): RunSummary['status'] {
  return s && STATUSES.has(s) ? (s as RunState) : 'unknown';
}

/** Seconds the run has taken: to its end, or to `now` while it runs (less its time stopped). */
export function elapsedSeconds(s: RunSummary, now: number = Date.now()): number | undefined {
  if (!s.started) return undefined;
  const start = Date.parse(s.started);
  const end = s.ended ? Date.parse(s.ended) : s.status === 'running' ? now : NaN;
  return Number.isFinite(start) && Number.isFinite(end) ? runDurationMs(start, end, s.pausedS) / 1000 : undefined;
}

/** Iterations per epoch, when the run says (for a fractional-epoch x axis). */
export function itersPerEpoch(s: Pick<RunSummary, 'maxIters' | 'maxEpochs'>): number | undefined {
  return s.maxIters > 0 && s.maxEpochs > 0 ? s.maxIters / s.maxEpochs : undefined;
}

/** `1 h 02 min`, `3 min 05 s`, `12 s`. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m) return `${m} min ${String(r).padStart(2, '0')} s`;
  return `${r} s`;
}

/** A metric value for tables: 4 significant digits, exponent for very small or large values. */
export function formatValue(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(3);
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(4)).toString();
}
