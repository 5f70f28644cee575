/**
 * Which charts a run's metrics make: the training loss (every `loss*` column together), the
 * learning rate, samples/s, seconds per iteration, memory, each other training metric on its own, and one
 * chart per evaluation split with all its metrics (accuracy_top1, top5, ... share a 0-1 axis).
 * Ordered as a person reads a training run: is it learning, how fast, how good.
 */
import { BOOKKEEPING_COLUMNS } from '../../../src/report/model/metrics';

export interface ChartSpec {
  /** Stable id (`train:loss`, `val:*`), used for DOM ids and zoom sync. */
  id: string;
  title: string;
  /** The y axis' name. */
  yLabel: string;
  split: string;
  keys: string[];
  /** Log scale by default (learning rate). */
  log?: boolean;
}

const TIMING = new Set(['iter_time', 'data_time']);
/** The training process's resident memory (src/train/hooks/logger.ts). */
const MEMORY = 'memory_gb';

/** A Map: metric names come from metrics.jsonl, and `constructor` there must read as itself. */
const PRETTY = new Map([
  ['loss', 'loss'],
  ['lr', 'learning rate'],
  ['samples_per_s', 'samples/s'],
  ['iter_time', 'seconds per iteration'],
  ['memory_gb', 'memory (GB)'],
]);

export function prettyMetric(key: string): string {
  return PRETTY.get(key) ?? key.replace(/_/g, ' ');
}

/** The charts for splits with these columns (`{ train: ['loss', 'lr', ...], val: [...] }`). */
export function chartGroups(columns: ReadonlyMap<string, readonly string[]>): ChartSpec[] {
  const head: ChartSpec[] = [];
  const middle: ChartSpec[] = [];
  const evals: ChartSpec[] = [];
  const tail: ChartSpec[] = [];
  for (const [split, keys] of columns) {
    const metrics = keys.filter((k) => !BOOKKEEPING_COLUMNS.has(k));
    if (split === 'train') {
      const losses = metrics.filter((k) => /^loss/.test(k)).sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b)));
      if (losses.length) head.push({ id: 'train:loss', title: 'Training loss', yLabel: 'loss', split, keys: losses });
      if (metrics.includes('lr')) head.push({ id: 'train:lr', title: 'Learning rate', yLabel: 'lr', split, keys: ['lr'] });
      if (metrics.includes('samples_per_s')) head.push({ id: 'train:samples_per_s', title: 'Throughput', yLabel: 'samples/s', split, keys: ['samples_per_s'] });
      const timing = metrics.filter((k) => TIMING.has(k));
      if (timing.length) tail.push({ id: 'train:timing', title: 'Time per iteration', yLabel: 'seconds', split, keys: timing });
      if (metrics.includes(MEMORY)) tail.push({ id: `train:${MEMORY}`, title: 'Memory (the process, resident)', yLabel: 'GB', split, keys: [MEMORY] });
      for (const k of metrics) {
        if (/^loss/.test(k) || k === 'lr' || k === 'samples_per_s' || TIMING.has(k) || k === MEMORY) continue;
        middle.push({ id: `train:${k}`, title: `Training ${prettyMetric(k)}`, yLabel: prettyMetric(k), split, keys: [k] });
      }
    } else if (metrics.length) {
      evals.push({ id: `${split}:*`, title: split === 'benchmark' ? 'Benchmarks' : `Evaluation: ${split}`, yLabel: metrics.length === 1 ? prettyMetric(metrics[0]) : 'metric', split, keys: metrics });
    }
  }
  return [...head, ...evals, ...middle, ...tail];
}

/** Every metric of a comparison (`train/loss`, `val/accuracy_top1`), one chart each, in the same order. */
export function comparisonCharts(columns: ReadonlyMap<string, readonly string[]>): ChartSpec[] {
  const out: ChartSpec[] = [];
  for (const g of chartGroups(columns)) {
    for (const k of g.keys) {
      out.push({
        id: `${g.split}:${k}`,
        title: g.split === 'train' ? (k === 'loss' ? 'Training loss' : `Training ${prettyMetric(k)}`) : `${g.split} ${prettyMetric(k)}`,
        yLabel: prettyMetric(k),
        split: g.split,
        keys: [k],
      });
    }
  }
  return out;
}
