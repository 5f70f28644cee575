/**
 * Fill in every default the schemas declare, so that the `config.yaml` a run writes says exactly
 * what ran, even after a default changes in a later version.
 */
import type { z } from 'zod';
import { registries } from './registry';
import { rootSchema } from './rootSchema';
import { defaultOf, elementOf, isPlainObject, shapeOf, slotKindOf, unwrap } from './schema';

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
  for (const [key, field] of Object.entries(shape)) {
    let v = value[key];
    if (v === undefined) {
      const d = defaultOf(field);
      if (!d) continue;
      v = structuredClone(d.value);
    }
    out[key] = fillValue(field, v);
  }
  // Keys the schema does not know (only reachable when validation was skipped) are kept as they are.
  for (const [key, v] of Object.entries(value)) if (!(key in out) && !(key in shape)) out[key] = v;
  return out;
}
