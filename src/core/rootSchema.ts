/**
 * The top level of a config: a strict mapping whose sections (`model`, `data`, `optimizer`, ...)
 * are contributed by the parts of the toolkit that own them, so that `src/core` knows no model,
 * dataset or trainer, and the JSON Schema, the validator and the editor see one root.
 */
import { z } from 'zod';
import { BASE_KEY } from './config/merge';

interface Section {
  schema: z.core.$ZodType;
  order: number;
}

const sections = new Map<string, Section>();
let cached: z.ZodObject<z.ZodRawShape> | undefined;

/** Add a top-level key. `order` sorts sections in docs and `cvw init` output. */
export function registerConfigSection(name: string, schema: z.core.$ZodType, order = 100): void {
  if (sections.has(name)) throw new Error(`config section "${name}" is already registered`);
  sections.set(name, { schema, order });
  cached = undefined;
}

registerConfigSection(
  BASE_KEY,
  z.union([z.string(), z.array(z.string())]).optional().describe('Config file(s) this one inherits from, relative to this file; later ones and this file override earlier ones'),
  0,
);
registerConfigSection(
  'custom_imports',
  z.array(z.string()).optional().describe('Modules (.ts or .js, relative to this file) that register custom components, exactly as built-in ones do'),
  1,
);
registerConfigSection('seed', z.number().int().min(0).default(0).describe('Seed of every random choice (weights, data order, augmentations)'), 2);

export function rootSchema(): z.ZodObject<z.ZodRawShape> {
  if (!cached) {
    const shape: Record<string, z.core.$ZodType> = {};
    for (const [name, s] of [...sections].sort((a, b) => a[1].order - b[1].order)) shape[name] = s.schema;
    cached = z.strictObject(shape as z.ZodRawShape);
  }
  return cached;
}

export function sectionNames(): string[] {
  return [...sections].sort((a, b) => a[1].order - b[1].order).map(([n]) => n);
}
