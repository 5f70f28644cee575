/**
 * Reading a run directory's own files: run.json through its schema, config.yaml as text and
 * object, metrics.jsonl whole (follow.ts follows it as it grows). Readers that show runs (the runs view, the panels) never fail on a half-written or
 * foreign run: `tryReadRunInfo` says undefined instead.
 */
import * as fs from 'node:fs';
import { readRegularFile } from '../core/boundedRead';
import { MetricsFollower, type MetricRecord } from './follow';
import { runFile } from './files';
import { parseRunInfo, type RunInfo } from './schema';
import { UserError } from '../core/problems';
import { parseConfigText } from '../core/config/yamlFile';
import { DEFAULT_MAX_CONFIG_BYTES } from '../core/config/load';

const MAX_RUN_JSON_BYTES = 16 << 20;

/** run.json's text: a regular file of sane size (a FIFO named run.json in a cloned work_dirs would block the reader, /dev/zero fill its memory). */
function readRunJson(file: string): string {
  return readRegularFile(file, { what: 'run file', maxBytes: MAX_RUN_JSON_BYTES }).toString('utf8');
}

/** A run's run.json; throws an error naming the file and what is wrong with it. */
export function readRunInfo(dir: string): RunInfo {
  const file = runFile(dir, 'run');
  let json: unknown;
  try {
    json = JSON.parse(readRunJson(file));
  } catch (e) {
    throw new UserError(`${file}: cannot read the run (${(e as Error).message})`);
  }
  return parseRunInfo(json, file);
}

/** A run's run.json and its modification time (ms), or undefined when it holds no readable run. */
export function tryReadRunInfo(dir: string): { info: RunInfo; mtimeMs: number } | undefined {
  const file = runFile(dir, 'run');
  try {
    const text = readRunJson(file);
    const mtimeMs = fs.statSync(file).mtimeMs;
    return { info: parseRunInfo(JSON.parse(text), file), mtimeMs };
  } catch {
    return undefined;
  }
}

/** config.yaml as text and object (undefined parts when missing or not YAML). */
export function readRunConfig(dir: string): { text?: string; config?: Record<string, unknown> } {
  let text: string;
  try {
    // Under the limit of a config file: its text goes to the panels whole.
    text = readRegularFile(runFile(dir, 'config'), { what: 'run config', maxBytes: DEFAULT_MAX_CONFIG_BYTES }).toString('utf8');
  } catch {
    return {};
  }
  // Read as configs are (nesting and aliases bounded): plain YAML parsing gives an alias inside its
  // own anchor as a value that contains itself, which the panels' JSON and walks never finish.
  const { value, problems } = parseConfigText(runFile(dir, 'config'), text);
  if (problems.length || !value || typeof value !== 'object' || Array.isArray(value)) return { text };
  return { text, config: value as Record<string, unknown> };
}

/** metrics.jsonl's records, whole (lines that are not JSON objects skipped); none when it is missing. */
export function readMetrics(dir: string): MetricRecord[] {
  return new MetricsFollower(runFile(dir, 'metrics')).read().records;
}
