/**
 * Helpers for component parameter schemas (zod 4) and for reading them back.
 *
 * A parameter whose value is itself a component (a backbone inside a model, the steps of a
 * pipeline) is a *slot*: `slot('backbone')`. The validator recurses into slots with the registry
 * of that kind, the JSON Schema links them to the kind's components, and the editor offers only
 * that kind's names there.
 */
import { z } from 'zod';
import type { ComponentKind } from './kinds';

export { z };

export const SLOT_META_KEY = 'x-cvw-slot';
export const SHORTHAND_META_KEY = 'x-cvw-shorthand';

/** A mapping `{type: ..., ...}` naming a component of `kind`. */
export interface ComponentConfig {
  type: string;
  [key: string]: unknown;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A parameter holding a component of the given kind (validated against that kind's registry). */
export function slot(kind: ComponentKind, description?: string) {
  const s = z.custom<ComponentConfig>((v) => isPlainObject(v), { message: `expected a mapping with a "type" naming a ${kind}` });
  return s.meta({ [SLOT_META_KEY]: kind, ...(description ? { description } : {}) });
}

type AnySchema = z.core.$ZodType;

const WRAPPERS = new Set(['optional', 'default', 'nullable', 'prefault', 'readonly', 'catch', 'nonoptional']);

/** The schema inside optional/default/nullable wrappers. */
export function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  while (WRAPPERS.has(s._zod.def.type)) s = (s._zod.def as unknown as { innerType: AnySchema }).innerType;
  return s;
}

/** Metadata (description, slot kind) of a schema, looking through its wrappers. */
export function metaOf(schema: AnySchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let s: AnySchema | undefined = schema;
  const chain: AnySchema[] = [];
  while (s) {
    chain.push(s);
    s = WRAPPERS.has(s._zod.def.type) ? (s._zod.def as unknown as { innerType: AnySchema }).innerType : undefined;
  }
  // Inner metadata first so that outer (later-applied) descriptions win.
  for (const c of chain.reverse()) {
    const m = z.globalRegistry.get(c as z.ZodType);
    if (m) Object.assign(out, m);
  }
  return out;
}

export function slotKindOf(schema: AnySchema): ComponentKind | undefined {
  return metaOf(schema)[SLOT_META_KEY] as ComponentKind | undefined;
}

/**
 * A parameter that stands for parameter `key` of the component in slot `slot` of the same owner
 * (`SimCLR.temperature` for `SimCLR.loss.temperature`). Resolution moves its value into the slot
 * (`withDefaults`), so the slot's own defaults cannot hide it; the validator rejects a shorthand
 * that disagrees with the slot's explicit value, or that the slot's component does not have.
 */
export interface Shorthand {
  slot: string;
  key: string;
}

export function shorthandOf(schema: AnySchema): Shorthand | undefined {
  return metaOf(schema)[SHORTHAND_META_KEY] as Shorthand | undefined;
}

/** The owner's shorthands that `value` sets, by the key they stand for in each slot. */
export function shorthandsSet(shape: Record<string, AnySchema>, value: Record<string, unknown>): Array<Shorthand & { owner: string; value: unknown }> {
  const out: Array<Shorthand & { owner: string; value: unknown }> = [];
  for (const [owner, field] of Object.entries(shape)) {
    const s = shorthandOf(field);
    if (s && value[owner] !== undefined) out.push({ ...s, owner, value: value[owner] });
  }
  return out;
}

/** Why a shorthand and its slot's own parameter cannot both stand (`at`: the owner's key path, '' for none). */
export function shorthandClash(at: string, s: Shorthand & { owner: string }, shorthand: unknown, written: unknown): string | undefined {
  if (JSON.stringify(shorthand) === JSON.stringify(written)) return undefined;
  const where = (key: string) => (at ? `${at}.${key}` : key);
  return `${where(s.owner)}: ${JSON.stringify(shorthand)} is a shorthand for ${where(s.slot)}.${s.key}, which says ${JSON.stringify(written)}; keep one of the two`;
}

export function descriptionOf(schema: AnySchema): string | undefined {
  return metaOf(schema).description as string | undefined;
}

/** True when the key may be left out (optional or with a default). */
export function isOptional(schema: AnySchema): boolean {
  let s: AnySchema = schema;
  while (WRAPPERS.has(s._zod.def.type)) {
    const t = s._zod.def.type;
    if (t === 'optional' || t === 'default' || t === 'prefault') return true;
    s = (s._zod.def as unknown as { innerType: AnySchema }).innerType;
  }
  return false;
}

/** Whether `schema` is wrapped (optional, default, ...) in a `wrapper` somewhere outside its core type. */
export function hasWrapper(schema: AnySchema, wrapper: string): boolean {
  for (let s: AnySchema | undefined = schema; s; s = (s._zod.def as unknown as { innerType?: AnySchema }).innerType) if (s._zod.def.type === wrapper) return true;
  return false;
}

/** The default value, if the schema has one. */
export function defaultOf(schema: AnySchema): { value: unknown } | undefined {
  let s: AnySchema = schema;
  while (WRAPPERS.has(s._zod.def.type)) {
    if (s._zod.def.type === 'default' || s._zod.def.type === 'prefault') {
      const d = (s._zod.def as unknown as { defaultValue: unknown }).defaultValue;
      return { value: typeof d === 'function' ? (d as () => unknown)() : d };
    }
    s = (s._zod.def as unknown as { innerType: AnySchema }).innerType;
  }
  return undefined;
}

/** The shape of an object schema, or undefined when it is not an object. */
export function shapeOf(schema: AnySchema): Record<string, AnySchema> | undefined {
  const s = unwrap(schema);
  return s._zod.def.type === 'object' ? ((s._zod.def as unknown as { shape: Record<string, AnySchema> }).shape) : undefined;
}

/** The element schema of an array schema. */
export function elementOf(schema: AnySchema): AnySchema | undefined {
  const s = unwrap(schema);
  return s._zod.def.type === 'array' ? (s._zod.def as unknown as { element: AnySchema }).element : undefined;
}

/** Allowed values of an enum or literal schema (for completion and messages). */
export function enumValuesOf(schema: AnySchema): unknown[] | undefined {
  const s = unwrap(schema);
  const def = s._zod.def as unknown as { type: string; entries?: Record<string, unknown>; values?: unknown[]; options?: AnySchema[] };
  if (def.type === 'enum' && def.entries) return Object.values(def.entries);
  if (def.type === 'literal' && def.values) return def.values;
  if (def.type === 'union' && def.options) {
    const all: unknown[] = [];
    for (const o of def.options) {
      const v = enumValuesOf(o);
      if (!v) return undefined;
      all.push(...v);
    }
    return all;
  }
  return undefined;
}

/** A short human name of the expected type: `integer >= 1`, `"imagenet" | "cifar"`, `list of number`. */
export function typeLabel(schema: AnySchema): string {
  const slotKind = slotKindOf(schema);
  if (slotKind) return `${slotKind} (a mapping with "type")`;
  const s = unwrap(schema);
  const values = enumValuesOf(s);
  if (values) return values.map((v) => JSON.stringify(v)).join(' | ');
  const json = safeJsonSchema(s);
  return jsonSchemaLabel(json);
}

function safeJsonSchema(schema: AnySchema): Record<string, unknown> {
  try {
    return z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function jsonSchemaLabel(j: Record<string, unknown>): string {
  if (Array.isArray(j.anyOf)) return (j.anyOf as Record<string, unknown>[]).map(jsonSchemaLabel).join(' | ');
  const t = j.type as string | undefined;
  if (t === 'array') {
    const items = j.items as Record<string, unknown> | undefined;
    return items ? `list of ${jsonSchemaLabel(items)}` : 'list';
  }
  if (t === 'object') return 'mapping';
  if (t === 'integer' || t === 'number') {
    const parts = [t];
    const MAX = Number.MAX_SAFE_INTEGER;
    if (typeof j.minimum === 'number' && j.minimum > -MAX) parts.push(`>= ${j.minimum}`);
    if (typeof j.exclusiveMinimum === 'number') parts.push(`> ${j.exclusiveMinimum}`);
    if (typeof j.maximum === 'number' && j.maximum < MAX) parts.push(`<= ${j.maximum}`);
    if (typeof j.exclusiveMaximum === 'number') parts.push(`< ${j.exclusiveMaximum}`);
    return parts.join(' ');
  }
  if (j.const !== undefined) return JSON.stringify(j.const);
  return t ?? 'any';
}

/** JSON Schema of one schema, for docs and `cvw schema`. */
export function toJsonSchema(schema: AnySchema): Record<string, unknown> {
  return safeJsonSchema(schema);
}
