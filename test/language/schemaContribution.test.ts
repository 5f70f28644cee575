import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import '../../src/builtins';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse as parseYaml } from 'yaml';
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

  it('compiles in a JSON Schema validator and agrees with `cvw validate` on every shipped config and on _delete_ and null', () => {
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(withoutRequired(generateJsonSchema()));
    const shipped = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? shipped(path.join(dir, e.name)) : /\.(ya?ml|json)$/.test(e.name) ? [path.join(dir, e.name)] : []));
    const files = [...shipped('configs'), ...shipped('templates')];
    expect(files.length).toBeGreaterThan(40);
    for (const file of files) expect(validate(parseYaml(fs.readFileSync(file, 'utf8')) ?? {}), `${file}: ${JSON.stringify(validate.errors?.slice(0, 2))}`).toBe(true);
    // `_delete_` in any mapping; null where a key may be left out without a default; not where it has one.
    expect(validate({ optimizer: { _delete_: true, type: 'SGD', lr: 0.1 }, runner: { max_epochs: null, grad_clip: null } })).toBe(true);
    expect(validate({ runner: { log_interval: null } })).toBe(false);
    expect(validate({ runner: { max_epoch: 3 } })).toBe(false);
    expect(validate({ model: { type: 'Classification', backbone: { type: 'ResNet', depth: 'x' } } })).toBe(false);
  });
});
