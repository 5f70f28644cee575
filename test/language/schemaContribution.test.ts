import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import '../../src/builtins';
import { generateJsonSchema } from '../../src/core/jsonSchema';
// @ts-expect-error: a build script in plain JavaScript, without type declarations.
import { SCHEMA_FILE, withoutRequired } from '../../scripts/write-schema.mjs';

const manifest = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { contributes: Record<string, Array<{ fileMatch: string[]; url: string }>> };

describe('the JSON Schema contributed to other YAML/JSON tooling', () => {
  it('is the file the build writes, for YAML and JSON configs', () => {
    for (const key of ['yamlValidation', 'jsonValidation']) {
      const [entry] = manifest.contributes[key];
      expect(entry.url).toBe(`./${SCHEMA_FILE}`);
      expect(entry.fileMatch.length).toBeGreaterThan(0);
    }
    expect(fs.readFileSync('.vscodeignore', 'utf8')).toContain(`!${SCHEMA_FILE}`);
  });

  it('requires nothing (keys may come from _base_ files) but still rejects unknown keys', () => {
    const full = generateJsonSchema() as { $defs: Record<string, Record<string, unknown>> };
    expect(full.$defs['backbone.ResNet'].required).toEqual(['type']);
    const relaxed = withoutRequired(full) as typeof full;
    expect(JSON.stringify(relaxed)).not.toContain('"required":[');
    expect(relaxed.$defs['backbone.ResNet'].additionalProperties).toBe(false);
    expect(Object.keys(relaxed.$defs)).toEqual(Object.keys(full.$defs));
    // A parameter that happens to be called "required" would survive.
    expect(withoutRequired({ properties: { required: { type: 'boolean' } }, required: ['x'] })).toEqual({ properties: { required: { type: 'boolean' } } });
  });
});
