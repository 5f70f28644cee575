/**
 * What the host accepts from a panel's page. The page is a browser document: whatever it sends —
 * a message, or the state it saved for a window reload — is checked against what the host itself
 * showed it, never taken as it is. No `vscode` import: the unit tests call these directly.
 *
 * - a run directory in a message must be one the panel shows;
 * - a file to open must lie (symlinks followed) inside a run directory the panel shows, or be one
 *   of the files the panel listed (the benchmarks panel's BENCHMARKS.md);
 * - a run directory in saved state must be a real run directory inside a workspace folder: it
 *   becomes a `localResourceRoots` entry, so it decides what the page may load.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { realFileInside, realPathInside } from '../../report/insideDir';
import { isRunDir } from '../../rundir';
import { DEFAULT_CHART_SETTINGS, RunAction, type BenchmarksState, type ChartSettings, type XAxis } from '../protocol';

/** `dir` when it is (as a path) one of the run directories the panel shows; else undefined. */
export function shownRunDir(dir: unknown, shown: readonly string[]): string | undefined {
  if (typeof dir !== 'string' || !path.isAbsolute(dir)) return undefined;
  const resolved = path.resolve(dir);
  return shown.find((d) => path.resolve(d) === resolved);
}

/** Every entry of `dirs` as a shown run directory; undefined when it is not a non-empty list of shown ones (one stranger refuses all). */
export function shownRunDirList(dirs: unknown, shown: readonly string[]): string[] | undefined {
  if (!Array.isArray(dirs) || !dirs.length) return undefined;
  const found = dirs.map((d) => shownRunDir(d, shown));
  return found.every((d): d is string => d !== undefined) ? [...new Set(found)] : undefined;
}

/**
 * The file a page may ask to open: a regular file inside one of the `shown` run directories, or
 * exactly one of the `listed` files. Returns the path to open, else undefined.
 */
export function openableFile(file: unknown, shown: readonly string[], listed: readonly string[] = []): string | undefined {
  if (typeof file !== 'string' || !path.isAbsolute(file)) return undefined;
  const resolved = path.resolve(file);
  if (listed.some((f) => path.resolve(f) === resolved)) return resolved;
  for (const dir of shown) if (realFileInside(dir, resolved)) return resolved;
  return undefined;
}

/** A run directory from saved state: an absolute path to a directory with a run.json, inside one of `folders`. */
export function workspaceRunDir(dir: unknown, folders: readonly string[]): string | undefined {
  if (typeof dir !== 'string' || !path.isAbsolute(dir)) return undefined;
  const resolved = path.resolve(dir);
  const real = folders.map((f) => realPathInside(f, resolved)).find((r) => r !== undefined);
  if (!real || !fs.statSync(real).isDirectory() || !isRunDir(real)) return undefined;
  return resolved;
}

/** A file outside every workspace folder is not opened on a run's say-so (run.json names it). */
export function workspaceFile(file: unknown, folders: readonly string[]): string | undefined {
  if (typeof file !== 'string' || !path.isAbsolute(file)) return undefined;
  return folders.some((f) => realFileInside(f, file)) ? path.resolve(file) : undefined;
}

const RUN_ACTIONS = new Set<string>(Object.values(RunAction));

export function isRunAction(v: unknown): v is RunAction {
  return typeof v === 'string' && RUN_ACTIONS.has(v);
}

const X_AXES: readonly XAxis[] = ['iter', 'epoch', 'wall', 'relative'];

/** Chart settings from saved state: the known fields with values of the right kind, defaults for the rest. */
export function chartSettingsFrom(v: unknown): ChartSettings {
  const c = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  return {
    x: X_AXES.includes(c.x as XAxis) ? (c.x as XAxis) : DEFAULT_CHART_SETTINGS.x,
    smoothing: typeof c.smoothing === 'number' && c.smoothing >= 0 && c.smoothing <= 0.99 ? c.smoothing : DEFAULT_CHART_SETTINGS.smoothing,
    logScale: typeof c.logScale === 'boolean' ? c.logScale : DEFAULT_CHART_SETTINGS.logScale,
  };
}

/** The benchmarks panel's sort order from saved state: entries of the right shape only. */
export function sortStateFrom(v: unknown): BenchmarksState['sort'] {
  const out: BenchmarksState['sort'] = {};
  if (!v || typeof v !== 'object') return out;
  for (const [table, s] of Object.entries(v as Record<string, unknown>)) {
    if (table === '__proto__') continue;
    const o = s as { column?: unknown; descending?: unknown } | null;
    if (o && Number.isInteger(o.column) && typeof o.descending === 'boolean') out[table] = { column: o.column as number, descending: o.descending };
  }
  return out;
}
