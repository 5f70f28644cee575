/**
 * Command-line overrides: `--model.head.num_classes 10`, `--data.train.batch_size=256`.
 * A value is typed by the schema of the key it sets: text for string parameters, YAML for the
 * rest (so `10` is a number, `[1, 2]` a list, `{type: SGD}` a mapping).
 */
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { registries } from '../registry';
import { rootSchema } from '../rootSchema';
import { elementOf, enumValuesOf, isPlainObject, shapeOf, slotKindOf, unwrap } from '../schema';
import { BASE_KEY, DELETE_KEY, getPath, noteOverridden, setPath } from './merge';
import { COMMAND_LINE, ZERO_RANGE, type Problem } from '../problems';
import type { LoadedConfig } from './load';

type AnySchema = z.core.$ZodType;

export interface Override {
  /** Dotted key path: `model.head.num_classes`. */
  key: string;
  /** The text given on the command line. */
  value: string;
  /** How the user wrote it, for messages: `--model.head.num_classes 10`. */
  arg: string;
}

/**
 * Overrides as callers give them: a list parsed from the command line, or, from the Node API, an
 * object of dotted keys (`{ 'optimizer.lr': 0.1 }`). Object values go through the command line's
 * path as JSON (which is YAML), so both are typed and checked the same way.
 */
export type Overrides = Override[] | Readonly<Record<string, unknown>>;

export function overrideList(overrides: Overrides | undefined): Override[] {
  if (!overrides) return [];
  if (Array.isArray(overrides)) return overrides;
  return Object.entries(overrides).map(([key, v]) => {
    const value = typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null');
    return { key, value, arg: `overrides[${JSON.stringify(key)}]` };
  });
}

/** The schema of the value at `segments`, following `type` names through slots; undefined if unknown. */
export function schemaAt(config: unknown, segments: string[]): AnySchema | undefined {
  let schema: AnySchema | undefined = rootSchema();
  let value: unknown = config;
  for (const seg of segments) {
    if (!schema) return undefined;
    const kind = slotKindOf(schema);
    if (kind) {
      const type = isPlainObject(value) ? value.type : undefined;
      if (seg === 'type') return undefined;
      const entry = typeof type === 'string' ? registries[kind].get(type) : undefined;
      if (!entry) return undefined;
      schema = entry.params;
    }
    const inner = unwrap(schema);
    const t = inner._zod.def.type;
    if (t === 'object') {
      const shape = shapeOf(inner);
      schema = shape && Object.hasOwn(shape, seg) ? shape[seg] : undefined;
    }
    else if (t === 'array') schema = elementOf(inner);
    else return undefined;
    value = Array.isArray(value) ? value[Number(seg)] : isPlainObject(value) ? value[seg] : undefined;
  }
  return schema;
}

function takesText(schema: AnySchema | undefined): boolean {
  if (!schema) return false;
  const inner = unwrap(schema);
  if (inner._zod.def.type === 'string') return true;
  const values = enumValuesOf(inner);
  return !!values && values.every((v) => typeof v === 'string');
}

/** Parse an override's text as the schema at its key expects. */
export function typeOverrideValue(config: unknown, key: string, text: string): unknown {
  const schema = schemaAt(config, key.split('.'));
  if (takesText(schema)) return text;
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}

/**
 * Where a key path steps into a list, it must name an element the list has or the next one
 * (appending): `eval_pipelines.2` of a one-element list would leave a hole that nothing fills.
 */
function listIndexProblem(config: unknown, segments: string[]): string | undefined {
  for (let i = 0; i < segments.length; i++) {
    const list = getPath(config, segments.slice(0, i));
    if (!Array.isArray(list)) continue;
    const index = segments[i];
    if (!/^\d+$/.test(index) || Number(index) > list.length) return `${segments.slice(0, i).join('.')} is a list of ${list.length}; expected an index from 0 to ${list.length} (${list.length} appends), got "${index}"`;
    if (Number(index) === list.length && i < segments.length - 1) return `${segments.slice(0, i + 1).join('.')} does not exist yet: set the whole element (--${segments.slice(0, i + 1).join('.')} '{...}')`;
  }
  return undefined;
}

/**
 * A list the config does not have yet, named with an index (`--hooks.0 '{type: EMAHook}'`), starts
 * empty, so index 0 appends; otherwise setPath would make a mapping `{0: ...}` of it.
 */
function startMissingLists(config: Record<string, unknown>, segments: string[]): void {
  for (let i = 1; i < segments.length; i++) {
    if (!/^\d+$/.test(segments[i]) || getPath(config, segments.slice(0, i)) !== undefined) continue;
    const schema = schemaAt(config, segments.slice(0, i));
    if (schema && unwrap(schema)._zod.def.type === 'array') setPath(config, segments.slice(0, i), []);
    return;
  }
}

/** Apply overrides in order; each value's origin becomes the command line. */
export function applyOverrides(loaded: LoadedConfig, overrides: Override[]): Problem[] {
  const problems: Problem[] = [];
  for (const o of overrides) {
    const segments = o.key.split('.');
    if (segments.some((s) => s === '')) {
      problems.push({ severity: 'error', code: 'bad-override', message: `${o.arg}: "${o.key}" is not a dotted key path like model.head.num_classes`, file: COMMAND_LINE, range: ZERO_RANGE, path: o.key });
      continue;
    }
    // Inheritance is settled when the files load; set afterwards it would load nothing.
    const marker = segments.find((s) => s === BASE_KEY || s === DELETE_KEY);
    if (marker) {
      problems.push({ severity: 'error', code: 'bad-override', message: `${o.arg}: ${marker} only works in config files (the command line sets values of the merged config); write a config file that inherits from this one`, file: COMMAND_LINE, range: ZERO_RANGE, path: o.key });
      continue;
    }
    const parentValue = getPath(loaded.config, segments.slice(0, -1));
    if (segments.length > 1 && parentValue !== undefined && !isPlainObject(parentValue) && !Array.isArray(parentValue)) {
      problems.push({
        severity: 'error',
        code: 'bad-override',
        message: `${o.arg}: cannot set "${segments[segments.length - 1]}" inside ${segments.slice(0, -1).join('.')}, which is not a mapping`,
        file: COMMAND_LINE,
        range: ZERO_RANGE,
        path: o.key,
      });
      continue;
    }
    startMissingLists(loaded.config, segments);
    const badIndex = listIndexProblem(loaded.config, segments);
    if (badIndex) {
      problems.push({ severity: 'error', code: 'bad-override', message: `${o.arg}: ${badIndex}`, file: COMMAND_LINE, range: ZERO_RANGE, path: o.key });
      continue;
    }
    const value = typeOverrideValue(loaded.config, o.key, o.value);
    const earlier = loaded.origins.get(o.key);
    if (earlier?.file === COMMAND_LINE && earlier.arg && !isDeepStrictEqual(getPath(loaded.config, segments), value)) {
      problems.push({ severity: 'warning', code: 'shadowed-value', message: `${earlier.arg}: never applies: ${o.arg} sets ${o.key} again, later on the command line`, file: COMMAND_LINE, range: ZERO_RANGE, path: o.key });
    }
    if (earlier) noteOverridden((loaded.overridden ??= new Map()), o.key, earlier, getPath(loaded.config, segments));
    setPath(loaded.config, segments, value);
    for (const k of [...loaded.origins.keys()]) if (k === o.key || k.startsWith(o.key + '.')) loaded.origins.delete(k);
    // Every mapping created on the way, and the value itself, now comes from the command line.
    for (let i = 1; i <= segments.length; i++) {
      const p = segments.slice(0, i).join('.');
      if (!loaded.origins.has(p)) loaded.origins.set(p, { file: COMMAND_LINE, value: ZERO_RANGE, arg: o.arg });
    }
  }
  return problems;
}
