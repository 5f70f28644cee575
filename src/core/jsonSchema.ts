/**
 * The JSON Schema of the whole config language, generated from the registry (`cvw schema`):
 * a definition per component (its `type` constant plus its parameters), an `anyOf` per slot
 * kind, and the root sections. It is a by-product of the registry, never edited by hand.
 */
import { z } from 'zod';
import { COMPONENT_KINDS, KIND_NAMES, type ComponentKind } from './kinds';
import { registries } from './registry';
import { rootSchema } from './rootSchema';
import { SLOT_META_KEY } from './schema';

type Json = Record<string, unknown>;

function convert(schema: z.core.$ZodType): Json {
  const out = z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out.$schema;
  return asTheValidatorReads(linkSlots(out)) as Json;
}

const DELETE_MARKER = { type: 'boolean', description: 'true: this mapping replaces the one inherited from _base_ files instead of merging into it' };

/**
 * What the config validator (validate.ts) accepts beyond the zod schemas: `_delete_` in every
 * closed mapping, and null for a key that may be left out and has no default ("not set").
 */
function asTheValidatorReads(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(asTheValidatorReads);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) out[k] = asTheValidatorReads(v);
  const properties = out.properties as Json | undefined;
  if (out.type === 'object' && properties && typeof properties === 'object') {
    const required = new Set((out.required as string[] | undefined) ?? []);
    const props: Json = {};
    for (const [k, v] of Object.entries(properties)) {
      // Slots (references to a kind) take null only where their schema says nullable.
      const notSet = !required.has(k) && (v as Json).default === undefined && (v as Json).$ref === undefined;
      // The description beside the anyOf too, where YAML tooling looks for a hover.
      const description = (v as Json).description;
      props[k] = notSet ? { anyOf: [v, { type: 'null' }], ...(description ? { description } : {}) } : v;
    }
    if (out.additionalProperties === false) props._delete_ = DELETE_MARKER;
    out.properties = props;
  }
  return out;
}

/** Replace slot placeholders with references to the slot's definition. */
function linkSlots(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(linkSlots);
  if (typeof node !== 'object' || node === null) return node;
  const obj = node as Json;
  const kind = obj[SLOT_META_KEY] as ComponentKind | undefined;
  if (kind) {
    return { $ref: `#/$defs/${kind}`, ...(obj.description ? { description: obj.description } : {}) };
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) out[k] = linkSlots(v);
  return out;
}

export function componentDefName(kind: ComponentKind, type: string): string {
  return `${kind}.${type}`;
}

export function generateJsonSchema(): Json {
  const defs: Json = {};
  for (const kind of COMPONENT_KINDS) {
    const refs: Json[] = [];
    for (const c of registries[kind].entries()) {
      const params = convert(c.params);
      const properties = { type: { const: c.type, description: c.description }, ...((params.properties as Json) ?? {}) };
      defs[componentDefName(kind, c.type)] = {
        type: 'object',
        description: c.paper ? `${c.description} (${c.paper})` : c.description,
        properties,
        required: ['type', ...((params.required as string[]) ?? [])],
        additionalProperties: false,
      };
      refs.push({ $ref: `#/$defs/${componentDefName(kind, c.type)}` });
    }
    defs[kind] = {
      description: `A ${KIND_NAMES[kind].one}: a mapping whose "type" names one of ${registries[kind].names().join(', ') || '(none registered)'}`,
      type: 'object',
      required: ['type'],
      properties: { type: { enum: registries[kind].names(), description: `Which ${KIND_NAMES[kind].one}` } },
      anyOf: refs.length ? refs : [{}],
    };
  }
  const root = convert(rootSchema());
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://cv-workbench.dev/schema/config.json',
    title: 'CV Workbench config',
    description: 'A CV Workbench config file (YAML or JSON). Generated from the component registry by `cvw schema`.',
    ...root,
    $defs: defs,
  };
}
