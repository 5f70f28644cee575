/**
 * Fill in every default the schemas declare, so that the `config.yaml` a run writes says exactly
 * what ran, even after a default changes in a later version.
 *
 * A shorthand (`SimCLR.temperature` for `SimCLR.loss.temperature`, see `Shorthand`) is moved into
 * its slot before the slot's defaults are filled: filled first, the loss's default would sit in
 * the slot as if written there, and the loss would be built with it instead of the shorthand.
 */
import type { z } from 'zod';
import { registries } from './registry';
import { rootSchema } from './rootSchema';
import { defaultOf, elementOf, hasWrapper, isPlainObject, shapeOf, shorthandsSet, slotKindOf, unwrap, type Shorthand } from './schema';

type AnySchema = z.core.$ZodType;

export function withDefaults(config: Record<string, unknown>): Record<string, unknown> {
  return fillObject(rootSchema(), config);
}

function fillValue(schema: AnySchema, value: unknown): unknown {
  const kind = slotKindOf(schema);
  if (kind) {
    if (!isPlainObject(value) || typeof value.type !== 'string') return value;
    const entry = registries[kind].get(value.type);
    return entry ? { type: value.type, ...fillObject(entry.params, value) } : value;
  }
  const inner = unwrap(schema);
  const t = inner._zod.def.type;
  if (t === 'object' && isPlainObject(value)) return fillObject(inner, value);
  if (t === 'array' && Array.isArray(value)) return value.map((v) => fillValue(elementOf(inner)!, v));
  return value;
}

function fillObject(schema: AnySchema, value: Record<string, unknown>): Record<string, unknown> {
  const shape = shapeOf(schema) ?? {};
  const out: Record<string, unknown> = {};
  const shorthands = shorthandsSet(shape, value);
  for (const [key, field] of Object.entries(shape)) {
    let v = value[key];
    // null where the schema takes none is "not set" (validate.ts): the builders see no key.
    if (v === undefined || (v === null && !hasWrapper(field, 'nullable'))) {
      const d = defaultOf(field);
      if (!d) continue;
      v = structuredClone(d.value);
    }
    out[key] = fillValue(field, withShorthands(field, v, shorthands.filter((s) => s.slot === key)));
  }
  // Keys the schema does not know (only reachable when validation was skipped) are kept as they are.
  for (const [key, v] of Object.entries(value)) if (!(key in out) && !(key in shape)) out[key] = v;
  return out;
}

/** Slot value `v` with the shorthands for it that it leaves out and its component has. */
function withShorthands(field: AnySchema, v: unknown, shorthands: Array<Shorthand & { value: unknown }>): unknown {
  const kind = slotKindOf(field);
  if (!shorthands.length || !kind || !isPlainObject(v) || typeof v.type !== 'string') return v;
  const params = registries[kind].get(v.type)?.params.shape ?? {};
  const add = shorthands.filter((s) => v[s.key] === undefined && s.key in params);
  return add.length ? { ...v, ...Object.fromEntries(add.map((s) => [s.key, structuredClone(s.value)])) } : v;
}
