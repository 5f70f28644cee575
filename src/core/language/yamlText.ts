/** Writing values back as YAML text: inline (flow) values, snippets, and example values. */
import type { z } from 'zod';
import { registries } from '../registry';
import { defaultOf, elementOf, enumValuesOf, isOptional, shapeOf, slotKindOf, toJsonSchema, unwrap } from '../schema';

type AnySchema = z.core.$ZodType;

const PLAIN_SAFE = /^[A-Za-z_/.][A-Za-z0-9_./-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~|\.inf|\.nan)$/i;

/** A value as YAML written on one line: `18`, `imagenet`, `[3]`, `{type: ResNet}`, `"a b"`. */
export function inlineYaml(value: unknown, json = false): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return !json && PLAIN_SAFE.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => inlineYaml(v, json)).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${json ? JSON.stringify(k) : k}: ${inlineYaml(v, json)}`);
    return `{${entries.join(', ')}}`;
  }
  return String(value);
}

/** Text that a snippet inserts literally. */
export function escapeSnippet(text: string): string {
  return text.replace(/[$}\\]/g, (c) => '\\' + c);
}

function escapeChoice(text: string): string {
  return text.replace(/[$}\\,|]/g, (c) => '\\' + c);
}

/** What a parameter's value looks like in a snippet: its default, a choice of its values, or a tab stop. */
export function valueSnippet(schema: AnySchema, json = false): string {
  const d = defaultOf(schema);
  const values = enumValuesOf(schema) ?? (unwrap(schema)._zod.def.type === 'boolean' ? [true, false] : undefined);
  if (values && values.length > 1) {
    const first = d ? [d.value, ...values.filter((v) => v !== d.value)] : values;
    return `\${1|${first.map((v) => escapeChoice(inlineYaml(v, json))).join(',')}|}`;
  }
  if (d) return `\${1:${escapeSnippet(inlineYaml(d.value, json))}}`;
  if (values?.length === 1) return escapeSnippet(inlineYaml(values[0], json));
  const t = unwrap(schema)._zod.def.type;
  if (t === 'string' && json) return '"$1"';
  if (t === 'array') return '[$1]';
  return '$1';
}

export type SnippetStyle = 'block' | 'flow' | 'json';

/**
 * The snippet a key completion inserts: `depth: ${1|18,34,50|}`, or for a component slot a
 * nested mapping with its `type` (block lines are relative: the editor adds the line's indent).
 */
export function paramSnippet(key: string, schema: AnySchema, style: SnippetStyle, indentUnit = '  '): { text: string; retrigger: boolean } {
  const json = style === 'json';
  const k = json ? JSON.stringify(key) : key;
  const slot = slotKindOf(schema);
  const inner = unwrap(schema);
  const t = inner._zod.def.type;
  const element = t === 'array' ? elementOf(inner) : undefined;
  if (slot) {
    if (style === 'block') return { text: `${k}:\n${indentUnit}type: $1`, retrigger: true };
    return { text: `${k}: {${json ? '"type": "$1"' : 'type: $1'}}`, retrigger: true };
  }
  if (element && slotKindOf(element) && !defaultOf(schema)) {
    if (style === 'block') return { text: `${k}:\n${indentUnit}- type: $1`, retrigger: true };
    return { text: `${k}: [{${json ? '"type": "$1"' : 'type: $1'}}]`, retrigger: true };
  }
  if (t === 'object' && !defaultOf(schema)) {
    if (style === 'block') return { text: `${k}:\n${indentUnit}$0`, retrigger: true };
    return { text: `${k}: {$0}`, retrigger: true };
  }
  return { text: `${k}: ${valueSnippet(schema, json)}`, retrigger: false };
}

/**
 * A value that stands in for a required parameter in a quick fix: the default, the first allowed
 * value, the lower bound, or an empty value of the right shape — something the user edits next.
 */
export function exampleValue(schema: AnySchema, depth = 0): unknown {
  const d = defaultOf(schema);
  if (d) return d.value;
  const slot = slotKindOf(schema);
  if (slot) {
    const entry = registries[slot].entries()[0];
    if (!entry) return { type: '' };
    const out: Record<string, unknown> = { type: entry.type };
    if (depth < 2) {
      for (const [k, s] of Object.entries(shapeOf(entry.params) ?? {})) if (!isOptional(s)) out[k] = exampleValue(s, depth + 1);
    }
    return out;
  }
  const values = enumValuesOf(schema);
  if (values?.length) return values[0];
  const inner = unwrap(schema);
  const t = inner._zod.def.type;
  if (t === 'boolean') return false;
  if (t === 'string') return '';
  if (t === 'array') return [];
  if (t === 'object') {
    const out: Record<string, unknown> = {};
    if (depth < 2) for (const [k, s] of Object.entries(shapeOf(inner) ?? {})) if (!isOptional(s)) out[k] = exampleValue(s, depth + 1);
    return out;
  }
  if (t === 'number' || t === 'int') {
    const j = toJsonSchema(inner);
    if (typeof j.minimum === 'number' && j.minimum > -Number.MAX_SAFE_INTEGER) return j.minimum;
    if (typeof j.exclusiveMinimum === 'number') return j.type === 'integer' ? j.exclusiveMinimum + 1 : j.exclusiveMinimum + 1;
    return 0;
  }
  return null;
}

/**
 * `key: value` as block YAML lines at `indent` (mappings nest on their own lines; lists and
 * scalars stay inline), for edits that insert whole keys.
 */
export function blockYamlLines(key: string, value: unknown, indent: string, unit = '  '): string[] {
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length) {
    const lines = [`${indent}${key}:`];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) lines.push(...blockYamlLines(k, v, indent + unit, unit));
    return lines;
  }
  return [`${indent}${key}: ${inlineYaml(value)}`];
}
