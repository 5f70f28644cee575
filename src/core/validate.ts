/**
 * The config validator: one implementation for `cvw validate`, `cvw train` and the editor.
 *
 * It walks the root schema and the value side by side. Where the schema has a slot, the value's
 * `type` is looked up in the registry of that slot's kind and the walk continues with that
 * component's parameter schema. Every problem is placed at the key or value that caused it, in
 * whichever file (or command-line option) wrote it.
 */
import type { z } from 'zod';
import { aKind, KIND_NAMES, type ComponentKind } from './kinds';
import { registries, unknownTypeMessage, type RegisteredComponent } from './registry';
import { rootSchema } from './rootSchema';
import { clip, describeValue, quoted } from './format';
import {
  defaultOf,
  descriptionOf,
  elementOf,
  hasWrapper,
  isOptional,
  isPlainObject,
  shapeOf,
  shorthandClash,
  shorthandsSet,
  slotKindOf,
  type Shorthand,
  typeLabel,
  unwrap,
} from './schema';
import { closestNames, didYouMean } from './suggest';
import { joinPath, locate, type Origins } from './config/yamlFile';
import { ZERO_RANGE, type Problem, type ProblemCode } from './problems';

type AnySchema = z.core.$ZodType;

export interface Validatable {
  file: string;
  config: Record<string, unknown>;
  origins: Origins;
}

/**
 * Problems listed per validation; the rest are counted. A file of 400,000 unknown keys made as
 * many problems (a gigabyte of messages, half a minute of "did you mean"); no one reads past the
 * first thousand.
 */
export const MAX_PROBLEMS = 1000;

class Walker {
  readonly problems: Problem[] = [];
  /** Problems found after the first MAX_PROBLEMS. */
  unlisted = 0;

  constructor(private readonly cfg: Validatable) {}

  get full(): boolean {
    return this.problems.length >= MAX_PROBLEMS;
  }

  report(path: string, preferKey: boolean, code: ProblemCode, message: string, extra: Partial<Problem> = {}): void {
    if (this.full) {
      this.unlisted++;
      return;
    }
    const found = locate(this.cfg.origins, path, preferKey);
    const file = found?.location.file ?? this.cfg.file;
    const prefix = found?.origin.arg ? `${found.origin.arg}: ` : '';
    this.problems.push({
      severity: 'error',
      code,
      message: prefix + message,
      file,
      range: found?.location.range ?? ZERO_RANGE,
      path,
      ...extra,
    });
  }

  value(schema: AnySchema, value: unknown, path: string, owner: string): void {
    const kind = slotKindOf(schema);
    if (kind) {
      // A slot is left out, or holds a component: the builders take no null (`model.neck: null`
      // failed only when training started), so neither does the validator.
      if (value === undefined || (value === null && hasWrapper(schema, 'nullable'))) return;
      this.component(kind, value, path);
      return;
    }
    const inner = unwrap(schema);
    const t = inner._zod.def.type;
    if (value === undefined) return;
    // null is "not set" (Python's None) where a key may be left out and has no default
    // (`runner.max_epochs: null` lifts an inherited epoch count); withDefaults drops it.
    if (value === null && (hasWrapper(schema, 'nullable') || (isOptional(schema) && !defaultOf(schema)))) return;
    if (t === 'object' && isPlainObject(value)) {
      this.object(inner, value, path, owner);
      return;
    }
    if (t === 'array' && Array.isArray(value)) {
      const element = elementOf(inner)!;
      if (needsWalk(element)) {
        value.forEach((item, i) => this.value(element, item, joinPath(path, i), owner));
        return;
      }
    }
    this.leaf(schema, value, path);
  }

  private leaf(schema: AnySchema, value: unknown, path: string): void {
    const result = (schema as z.ZodType).safeParse(value);
    if (result.success) return;
    for (const issue of result.error.issues) {
      const issuePath = issue.path.reduce<string>((p, k) => joinPath(p, String(k)), path);
      const custom = issue.code === 'custom' && issue.message && issue.message !== 'Invalid input';
      const shown = issue.path.length ? pick(value, issue.path as (string | number)[]) : value;
      const expected = custom ? issue.message : `expected ${typeLabel(subSchema(schema, issue.path as (string | number)[]))}, got ${describeValue(shown)}`;
      const fallback = value === null ? defaultOf(schema) : undefined;
      this.report(issuePath, false, 'invalid-value', `${issuePath}: ${expected}${fallback ? ` (leave the key out for its default, ${describeValue(fallback.value)})` : ''}`);
    }
  }

  component(kind: ComponentKind, value: unknown, path: string): void {
    if (!isPlainObject(value)) {
      // An empty slot (`head:` left blank) is one the "Add type" quick fix can fill.
      const empty = value === null ? { suggestions: registries[kind].names(), data: { kind } } : undefined;
      this.report(path, false, empty ? 'missing-type' : 'invalid-value', `${path}: expected a mapping with a "type" naming ${aKind(kind)}, got ${describeValue(value)}`, empty);
      return;
    }
    const type = value.type;
    if (type === undefined || type === null) {
      const names = registries[kind].names();
      this.report(path, true, 'missing-type', `${path}: missing "type" — which ${KIND_NAMES[kind].one}? (${names.join(', ') || 'none registered'})`, {
        suggestions: names,
        data: { kind },
      });
      return;
    }
    if (typeof type !== 'string') {
      this.report(joinPath(path, 'type'), false, 'invalid-value', `${path}.type: expected the name of ${aKind(kind)}, got ${describeValue(type)}`);
      return;
    }
    const entry = registries[kind].get(type);
    if (!entry) {
      const wrongSlot = !closestNames(type, registries[kind].names()).length && Object.values(registries).some((r) => r.has(type));
      this.report(joinPath(path, 'type'), false, wrongSlot ? 'wrong-slot' : 'unknown-type', unknownTypeMessage(kind, type), {
        suggestions: closestNames(type, registries[kind].names()),
        data: { kind },
      });
      return;
    }
    this.object(entry.params, value, path, `${KIND_NAMES[kind].one} "${type}"`, entry);
  }

  object(schema: AnySchema, value: Record<string, unknown>, path: string, owner: string, entry?: RegisteredComponent): void {
    const shape = shapeOf(schema) ?? {};
    const known = Object.keys(shape);
    for (const key of Object.keys(value)) {
      if (entry && key === 'type') continue;
      // Own keys only: `toString` or `__proto__` is no parameter, whatever Object.prototype has.
      if (Object.hasOwn(shape, key)) continue;
      if (this.full) {
        this.unlisted++;
        continue;
      }
      const near = closestNames(key, known);
      const where = path === '' ? 'top-level key' : `key ${quoted(key)} in ${owner}`;
      const msg = path === '' ? `unknown ${where} ${quoted(key)}` : `unknown ${where} (${clip(path)})`;
      this.report(joinPath(path, key), true, 'unknown-key', msg + didYouMean(near) + (near.length ? '' : ` (known: ${known.join(', ') || 'none'})`), {
        suggestions: near,
        data: { key },
      });
    }
    const missing: string[] = [];
    for (const [key, fieldSchema] of Object.entries(shape)) {
      const v = value[key];
      if (v === undefined && !isOptional(fieldSchema)) {
        missing.push(key);
        continue;
      }
      this.value(fieldSchema, v, joinPath(path, key), owner);
    }
    for (const s of shorthandsSet(shape, value)) this.shorthand(s, shape[s.slot], value, path);
    if (missing.length) {
      const detail = missing.map((k) => `"${k}" (${typeLabel(shape[k])}${descriptionOf(shape[k]) ? ': ' + descriptionOf(shape[k]) : ''})`).join(', ');
      const label = missing.length === 1 ? 'parameter' : 'parameters';
      this.report(path, true, 'missing-required', `${path || 'config'}: ${owner} is missing required ${label} ${detail}`, {
        data: { missing, component: entry ? { kind: entry.kind, type: entry.type } : undefined },
      });
    }
  }

  /** A shorthand its slot's component must have, and must not contradict (see `Shorthand`). */
  private shorthand(s: Shorthand & { owner: string; value: unknown }, slotSchema: AnySchema | undefined, value: Record<string, unknown>, path: string): void {
    const kind = slotSchema && slotKindOf(slotSchema);
    const component = value[s.slot] ?? (slotSchema && defaultOf(slotSchema)?.value);
    if (!kind || !isPlainObject(component) || typeof component.type !== 'string') return;
    const entry = registries[kind].get(component.type);
    if (!entry) return;
    const at = joinPath(path, s.owner);
    if (!(s.key in entry.params.shape)) {
      this.report(at, true, 'invalid-value', `${at}: a shorthand for ${joinPath(path, s.slot)}.${s.key}, but ${KIND_NAMES[kind].one} "${entry.type}" has no ${s.key}; leave it out and set ${entry.type}'s parameters under ${s.slot}:`);
      return;
    }
    const clash = component[s.key] === undefined ? undefined : shorthandClash(path, s, s.value, component[s.key]);
    if (clash) this.report(at, false, 'invalid-value', clash);
  }
}

/** Elements that hold components or mappings are walked one by one, for precise positions. */
function needsWalk(schema: AnySchema): boolean {
  if (slotKindOf(schema)) return true;
  const t = unwrap(schema)._zod.def.type;
  return t === 'object' || (t === 'array' && needsWalk(elementOf(schema)!));
}

/** The schema at `path` below `schema`, through list elements and mappings (for messages about a part). */
function subSchema(schema: AnySchema, path: (string | number)[]): AnySchema {
  let s = schema;
  for (const key of path) {
    const next = elementOf(s) ?? shapeOf(s)?.[String(key)];
    if (!next) return s;
    s = next;
  }
  return s;
}

function pick(value: unknown, path: (string | number)[]): unknown {
  let cur = value;
  for (const k of path) cur = (cur as Record<string | number, unknown> | undefined)?.[k];
  return cur;
}

/** Check a loaded config against the registry. Returns problems; never throws for bad input. */
export function validateConfig(cfg: Validatable): Problem[] {
  const w = new Walker(cfg);
  w.object(rootSchema(), cfg.config, '', 'the config');
  const problems = w.problems.sort(byPosition);
  if (w.unlisted) {
    const last = problems[problems.length - 1];
    problems.push({ ...last, code: undefined, suggestions: undefined, data: undefined, message: `${w.unlisted.toLocaleString('en')} more problems after these ${MAX_PROBLEMS.toLocaleString('en')} are not listed` });
  }
  return problems;
}

export function byPosition(a: Problem, b: Problem): number {
  return a.file.localeCompare(b.file) || a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character;
}
