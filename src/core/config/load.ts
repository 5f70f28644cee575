/**
 * Loading a config: the file, its `_base_` chain (merged, with cycle and missing-file checks),
 * and command-line overrides, keeping the origin of every value.
 */
import * as path from 'node:path';
import { BASE_KEY, DELETE_KEY, mergeSourced, noteOverridden, stripDelete, type Overridden, type Replacement, type Sourced } from './merge';
import { shadowedValues, type ShadowCandidate } from './shadowing';
import { parseConfigText, joinPath, type Origins, type ParsedFile } from './yamlFile';
import { ZERO_RANGE, type Problem } from '../problems';
import { isPlainObject } from '../schema';
import { limitFromEnv, readRegularFile, UnreadableFile } from '../boundedRead';
import { describeValue } from '../format';

export interface LoadOptions {
  /** Text of a file when it differs from the disk (unsaved editor buffers); undefined reads the disk. */
  readText?: (file: string) => string | undefined;
}

export interface LoadedConfig {
  /** Absolute path of the entry file. */
  file: string;
  /** The merged config, without `_base_` and `_delete_`. */
  config: Record<string, unknown>;
  /** `config` with its `_delete_` markers: what to merge when this file is a `_base_` entry. */
  marked: Record<string, unknown>;
  /** Where each value of `config` was written. */
  origins: Origins;
  /** The values each path had before a later file or override replaced them, oldest first. */
  overridden?: Map<string, Overridden[]>;
  /** Every file read: the entry and its bases, in load order (bases first). */
  files: string[];
  /** Each file's parse (documents and line counters for editors). */
  parsed: Map<string, ParsedFile>;
  /** Direct bases of each file (absolute paths), for "re-check the files that inherit from it". */
  bases: Map<string, string[]>;
  /** Syntax errors, missing bases and cycles; warnings for values that never apply (shadowing.ts). */
  problems: Problem[];
}

export const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** Configs are small; a larger file is a mistake (or `_base_: /dev/zero`). */
export const DEFAULT_MAX_CONFIG_BYTES = 16 << 20;
export const MAX_CONFIG_BYTES_ENV = 'CVW_MAX_CONFIG_BYTES';

/** A config file from the disk: a regular file under the size limit, else why not. */
function readFromDisk(file: string, what: string): string | UnreadableFile {
  try {
    const maxBytes = limitFromEnv(MAX_CONFIG_BYTES_ENV, DEFAULT_MAX_CONFIG_BYTES);
    // Without a byte-order mark, as an editor shows the text: positions on line 1 then agree.
    return readRegularFile(file, { what, maxBytes, raiseHint: `set ${MAX_CONFIG_BYTES_ENV} to a number of bytes to raise it` }).toString('utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    if (err instanceof UnreadableFile) return err;
    throw err;
  }
}

/** Load `file` with its `_base_` chain. Never throws for bad input: problems are returned. */
export function loadConfig(file: string, options: LoadOptions = {}): LoadedConfig {
  const abs = path.resolve(file);
  const read = (f: string, what: string) => options.readText?.(f) ?? readFromDisk(f, what);
  const state: LoadedConfig = { file: abs, config: {}, marked: {}, origins: new Map(), overridden: new Map(), files: [], parsed: new Map(), bases: new Map(), problems: [] };
  const text = read(abs, 'config file');
  if (text instanceof UnreadableFile) {
    state.problems.push({ severity: 'error', code: text.reason === 'not-found' ? 'file-not-found' : 'file-unreadable', message: text.message, file: abs, range: ZERO_RANGE, path: '' });
    return state;
  }
  const shadows: ShadowCandidate[] = [];
  const merged = loadRecursive(abs, text, [], state, read, shadows, new Map());
  for (const p of shadowedValues(shadows, merged.origins, state.bases)) state.problems.push(p);
  state.marked = merged.value;
  state.config = stripDelete(merged.value) as Record<string, unknown>;
  state.origins = merged.origins;
  return state;
}

function loadRecursive(
  file: string,
  text: string,
  stack: string[],
  state: LoadedConfig,
  read: (f: string, what: string) => string | UnreadableFile,
  shadows: ShadowCandidate[],
  loaded: Map<string, Sourced>,
): Sourced {
  const parsed = parseConfigText(file, text);
  state.parsed.set(file, parsed);
  for (const p of parsed.problems) state.problems.push(p);
  if (parsed.problems.length) return { value: {}, origins: new Map() };
  if (!isPlainObject(parsed.value)) {
    const o = parsed.origins.get('')!;
    state.problems.push({ severity: 'error', code: 'invalid-value', message: 'a config file must be a mapping of keys to values', file, range: o.value, path: '' });
    return { value: {}, origins: new Map() };
  }
  const own = parsed.value as Record<string, unknown>;
  for (const p of deleteMarkerProblems(own, parsed.origins, file)) state.problems.push(p);
  const bases = baseEntries(own[BASE_KEY], parsed.origins, file, state);
  state.bases.set(file, bases.map((b) => b.file));

  // Replaced values: remembered for "where did this come from", and judged once the whole chain
  // is merged (shadowing.ts).
  const noteShadowed = (r: Replacement) => {
    shadows.push({ ...r, loader: file });
    if (r.lost) noteOverridden(state.overridden!, r.path, r.lost, r.lostValue);
  };
  let acc: Sourced = { value: {}, origins: new Map() };
  for (const b of bases) {
    if (stack.includes(b.file) || b.file === file) {
      const cycle = [...stack, file, b.file].slice([...stack, file].indexOf(b.file));
      state.problems.push({
        severity: 'error',
        code: 'base-cycle',
        message: `_base_ cycle: ${cycle.map((f) => path.basename(f)).join(' -> ')}`,
        file,
        range: b.origin.value,
        path: b.originPath,
      });
      continue;
    }
    // A base listed by several files (a diamond) is loaded once: its merge does not depend on who
    // lists it, and loading it again for each path made a chain of N files that each list the
    // next twice cost 2^N loads.
    const done = loaded.get(b.file);
    if (done) {
      acc = mergeSourced(acc, done, noteShadowed);
      continue;
    }
    const baseText = read(b.file, '_base_ file');
    if (baseText instanceof UnreadableFile) {
      state.problems.push({
        severity: 'error',
        code: baseText.reason === 'not-found' ? 'file-not-found' : 'file-unreadable',
        message: baseText.reason === 'not-found' ? `_base_ file not found: ${b.raw} (looked for ${b.file})` : baseText.message,
        file,
        range: b.origin.value,
        path: b.originPath,
      });
      continue;
    }
    const base = loadRecursive(b.file, baseText, [...stack, file], state, read, shadows, loaded);
    loaded.set(b.file, base);
    acc = mergeSourced(acc, base, noteShadowed);
  }
  if (!state.files.includes(file)) state.files.push(file);

  const { [BASE_KEY]: _ignored, ...rest } = own;
  const ownOrigins: Origins = new Map([...parsed.origins].filter(([k]) => k !== BASE_KEY && !k.startsWith(BASE_KEY + '.')));
  return mergeSourced(acc, { value: rest, origins: ownOrigins }, noteShadowed);
}

interface BaseEntry {
  raw: string;
  file: string;
  origin: { value: import('../problems').Range };
  originPath: string;
}

function baseEntries(raw: unknown, origins: Origins, file: string, state: LoadedConfig): BaseEntry[] {
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const out: BaseEntry[] = [];
  list.forEach((entry, i) => {
    const originPath = Array.isArray(raw) ? joinPath(BASE_KEY, i) : BASE_KEY;
    const origin = origins.get(originPath) ?? origins.get(BASE_KEY)!;
    if (typeof entry !== 'string' || entry.trim() === '') {
      state.problems.push({ severity: 'error', code: 'invalid-value', message: '_base_ takes a file path or a list of file paths', file, range: origin.value, path: originPath });
      return;
    }
    out.push({ raw: entry, file: path.resolve(path.dirname(file), entry), origin, originPath });
  });
  return out;
}

/**
 * `_delete_` set to anything but true: merging reads only true, so `_delete_: yes` (a string in
 * YAML 1.2) or `"true"` would merge silently where the writer meant to replace.
 */
function deleteMarkerProblems(value: unknown, origins: Origins, file: string): Problem[] {
  const out: Problem[] = [];
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    const children: Array<[string, unknown]> = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : isPlainObject(v) ? Object.entries(v) : [];
    for (const [k, x] of children) {
      const p = joinPath(at, k);
      if (k === DELETE_KEY && !Array.isArray(v) && x !== true) {
        const range = origins.get(p)?.value ?? ZERO_RANGE;
        out.push({ severity: 'error', code: 'invalid-value', message: `${p}: expected true (this mapping replaces the inherited one); leave ${DELETE_KEY} out to merge, got ${describeValue(x)}`, file, range, path: p });
      } else stack.push([x, p]);
    }
  }
  return out.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
}
