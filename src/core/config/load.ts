/**
 * Loading a config: the file, its `_base_` chain (merged, with cycle and missing-file checks),
 * and command-line overrides, keeping the origin of every value.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BASE_KEY, mergeSourced, stripDelete, type Sourced } from './merge';
import { parseConfigText, joinPath, type Origins, type ParsedFile } from './yamlFile';
import { ZERO_RANGE, type Problem } from '../problems';
import { isPlainObject } from '../schema';

export interface LoadOptions {
  /** Text of a file when it differs from the disk (unsaved editor buffers); undefined reads the disk. */
  readText?: (file: string) => string | undefined;
}

export interface LoadedConfig {
  /** Absolute path of the entry file. */
  file: string;
  /** The merged config, without `_base_` and `_delete_`. */
  config: Record<string, unknown>;
  /** Where each value of `config` was written. */
  origins: Origins;
  /** Every file read: the entry and its bases, in load order (bases first). */
  files: string[];
  /** Each file's parse (documents and line counters for editors). */
  parsed: Map<string, ParsedFile>;
  /** Direct bases of each file (absolute paths), for "re-check the files that inherit from it". */
  bases: Map<string, string[]>;
  /** Syntax errors, missing bases and cycles. */
  problems: Problem[];
}

export const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'];

function defaultRead(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Load `file` with its `_base_` chain. Never throws for bad input: problems are returned. */
export function loadConfig(file: string, options: LoadOptions = {}): LoadedConfig {
  const abs = path.resolve(file);
  const read = (f: string) => options.readText?.(f) ?? defaultRead(f);
  const state: LoadedConfig = { file: abs, config: {}, origins: new Map(), files: [], parsed: new Map(), bases: new Map(), problems: [] };
  const text = read(abs);
  if (text === undefined) {
    state.problems.push({ severity: 'error', code: 'file-not-found', message: `config file not found: ${abs}`, file: abs, range: ZERO_RANGE, path: '' });
    return state;
  }
  const merged = loadRecursive(abs, text, [], state, read);
  state.config = stripDelete(merged.value) as Record<string, unknown>;
  state.origins = merged.origins;
  return state;
}

function loadRecursive(file: string, text: string, stack: string[], state: LoadedConfig, read: (f: string) => string | undefined): Sourced {
  const parsed = parseConfigText(file, text);
  state.parsed.set(file, parsed);
  state.problems.push(...parsed.problems);
  if (parsed.problems.length) return { value: {}, origins: new Map() };
  if (!isPlainObject(parsed.value)) {
    const o = parsed.origins.get('')!;
    state.problems.push({ severity: 'error', code: 'invalid-value', message: 'a config file must be a mapping of keys to values', file, range: o.value, path: '' });
    return { value: {}, origins: new Map() };
  }
  const own = parsed.value as Record<string, unknown>;
  const bases = baseEntries(own[BASE_KEY], parsed.origins, file, state);
  state.bases.set(file, bases.map((b) => b.file));

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
    const baseText = read(b.file);
    if (baseText === undefined) {
      state.problems.push({
        severity: 'error',
        code: 'file-not-found',
        message: `_base_ file not found: ${b.raw} (looked for ${b.file})`,
        file,
        range: b.origin.value,
        path: b.originPath,
      });
      continue;
    }
    const loaded = loadRecursive(b.file, baseText, [...stack, file], state, read);
    acc = mergeSourced(acc, loaded);
  }
  if (!state.files.includes(file)) state.files.push(file);

  const { [BASE_KEY]: _ignored, ...rest } = own;
  const ownOrigins: Origins = new Map([...parsed.origins].filter(([k]) => k !== BASE_KEY && !k.startsWith(BASE_KEY + '.')));
  return mergeSourced(acc, { value: rest, origins: ownOrigins });
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

/** Files whose `_base_` chain includes `file` among `loaded` configs (for re-validation on change). */
export function dependsOn(loaded: LoadedConfig, file: string): boolean {
  return loaded.files.includes(path.resolve(file));
}
