/**
 * Reading a run directory for the panels and reports (Node, no vscode, no TensorFlow): run.json
 * summarised, metrics.jsonl as columnar tables, confusion matrices, benchmark results, the
 * generated report. The run's files are src/rundir's; readers never fail on a half-written run:
 * what is missing or unreadable is left out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetricsFollower, readRunConfig, runFile, tryReadRunInfo } from '../rundir';
import { benchmarkEntry, type BenchmarkEntry } from './model/benchmarks';
import { parseMarkdownTables, type MarkdownTable } from './model/markdownTables';
import type { MetricTable } from './model/metrics';
import { MetricSplits } from './model/thinning';
import { REPORT_DIR, REPORT_FILE, type GeneratedReport, type ReportData } from './model/report';
import { summarize, type RunSnapshot, type RunSummary } from './model/run';
import { readConfusionMatrices, readJson, readReportComparison, readText } from './evalFiles';

export { readConfusionMatrices } from './evalFiles';

/** The run's summary; `state` is a reader's verdict on its status (src/runs: interrupted, crashed). */
export function readRunSummary(dir: string, options: { state?: string; config?: Record<string, unknown> } = {}): RunSummary {
  const info = tryReadRunInfo(dir)?.info;
  const config = options.config ?? readRunConfig(dir).config;
  const model = typeof (config?.model as { type?: unknown } | undefined)?.type === 'string' ? ((config!.model as { type: string }).type) : undefined;
  return summarize(path.resolve(dir), info, model, options.state);
}

/**
 * metrics.jsonl as tables, thinned as the dashboard keeps them (model/thinning.ts: a few thousand
 * rows per split and kind of row, evenly spread, the newest kept), for one-off readers (a panel
 * without the runs watcher, `cvw report`'s curves); the panels follow it incrementally. Final and
 * best values come from run.json or every record (runsTableModel), never from these rows.
 */
export function readMetricTables(dir: string): MetricTable[] {
  return readMetricSplits(dir).tables();
}

/** metrics.jsonl as readMetricTables keeps it, with what was left out (MetricSplits.leftOut). */
export function readMetricSplits(dir: string): MetricSplits {
  const slices = metricSlices(dir);
  for (;;) {
    const next = slices.next();
    if (next.done) return next.value;
  }
}

/** readMetricSplits one slice per turn of the event loop: a panel's host answers between them. */
export async function readMetricSplitsInTurns(dir: string): Promise<MetricSplits> {
  const slices = metricSlices(dir);
  for (;;) {
    const next = slices.next();
    if (next.done) return next.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Reads metrics.jsonl into MetricSplits, pausing (yield) after each slice with more to come. */
function* metricSlices(dir: string): Generator<void, MetricSplits> {
  const splits = new MetricSplits();
  const follower = new MetricsFollower(runFile(dir, 'metrics'));
  // A few MiB at a time: a file of millions of lines never exists whole, as text, records or columns.
  try {
    for (const read of follower.batches(SLICE_BYTES)) {
      splits.appendRecords(read.records);
      if (read.more) yield;
    }
  } catch {
    return new MetricSplits(); // unreadable (not a regular file): no curves
  }
  return splits;
}

/** Bytes of metrics.jsonl parsed at a time (about ten thousand lines). */
const SLICE_BYTES = 2 << 20;

/** A run, whole: summary, config, metrics. */
export function readRunSnapshot(dir: string, options: { state?: string; metrics?: MetricSplits } = {}): RunSnapshot {
  const { text, config } = readRunConfig(dir);
  const metrics = options.metrics ?? readMetricSplits(dir);
  return {
    summary: readRunSummary(dir, { state: options.state, config }),
    configText: text,
    config,
    tables: metrics.tables(),
    ...(metrics.leftOut ? { metricsLeftOut: metrics.leftOut } : {}),
  };
}

/** `benchmarks/*.json` of one run. */
export function readRunBenchmarks(dir: string, summary?: RunSummary, config?: Record<string, unknown>): BenchmarkEntry[] {
  const benchDir = runFile(dir, 'benchmarks');
  let names: string[];
  try {
    names = fs.readdirSync(benchDir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const s = summary ?? readRunSummary(dir);
  const cfg = config ?? readRunConfig(dir).config;
  const out: BenchmarkEntry[] = [];
  for (const name of names) {
    const file = path.join(benchDir, name);
    const e = benchmarkEntry(file, readJson(file), { dir: s.dir, id: s.id, configStem: s.configStem, config: cfg });
    if (e) out.push(e);
  }
  return out;
}

/** Every benchmark result of the runs under `roots`. */
export function readAllBenchmarks(runDirs: readonly string[]): BenchmarkEntry[] {
  return runDirs.flatMap((d) => readRunBenchmarks(d));
}

/** The tables of a Markdown file (BENCHMARKS.md), or undefined when it is not there. */
export function readMarkdownTables(file: string): MarkdownTable[] | undefined {
  const text = readText(file);
  return text === undefined ? undefined : parseMarkdownTables(text);
}

/** `<run>/report/report.json`, when `cvw report` has written it. */
export function readGeneratedReport(dir: string): GeneratedReport | undefined {
  return readJson<GeneratedReport>(path.join(dir, REPORT_DIR, REPORT_FILE));
}

/** Every image a generated report refers to (paths relative to the run). */
export function reportImages(report: GeneratedReport | undefined): string[] {
  if (!report) return [];
  const set = new Set<string>();
  for (const g of report.gallery ?? []) set.add(g.image);
  for (const d of report.detections ?? []) set.add(d.image);
  for (const o of report.segmentation?.overlays ?? []) for (const f of [o.image, o.truth, o.prediction]) if (f) set.add(f);
  for (const q of report.retrieval ?? []) {
    set.add(q.query.image);
    for (const n of q.neighbours) set.add(n.image);
  }
  return [...set];
}

/**
 * Everything the report shows; `imageUri` turns an image path (relative to the run) into what
 * the page loads (a webview URI in VS Code, a data: URI in a standalone file), or undefined for
 * one it will not show (a path that leads out of the run: the page then says "missing image").
 */
export function readReportData(dir: string, imageUri: (relative: string) => string | undefined, options: { state?: string; metrics?: MetricSplits } = {}): ReportData {
  const snapshot = readRunSnapshot(dir, options);
  const generated = readGeneratedReport(dir);
  const images: Record<string, string> = {};
  for (const rel of reportImages(generated)) {
    const uri = typeof rel === 'string' ? imageUri(rel) : undefined;
    if (uri !== undefined) images[rel] = uri;
  }
  return {
    summary: snapshot.summary,
    configText: snapshot.configText,
    tables: snapshot.tables,
    ...(snapshot.metricsLeftOut ? { metricsLeftOut: snapshot.metricsLeftOut } : {}),
    confusion: readConfusionMatrices(dir),
    benchmarks: readRunBenchmarks(dir, snapshot.summary, snapshot.config),
    generated,
    images,
    comparison: readReportComparison(dir, imageUri),
  };
}
