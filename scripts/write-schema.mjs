// Writes dist/cvw.schema.json, the JSON Schema of the config language generated from the
// registry (what `cvw schema` prints). package.json contributes it through `yamlValidation` and
// `jsonValidation`, so YAML/JSON tooling other than this extension checks configs too.
// Runs after tsc in scripts/build.mjs (it loads the compiled registry from dist/lib).
//
// One difference from `cvw schema`: nothing is required. JSON Schema knows nothing of `_base_`,
// and a config that inherits its `type` or `num_classes` from a base file is valid; with the
// `required` lists, other tooling would flag every such config. Unknown keys, wrong types, enum
// values and ranges are still checked, and the descriptions still show in hovers.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const SCHEMA_FILE = join('dist', 'cvw.schema.json');

/** Generate the schema from `<root>/dist/lib` and write it atomically to `<root>/dist/cvw.schema.json`. */
export function writeSchema(root) {
  const require = createRequire(join(root, 'package.json'));
  require(join(root, 'dist', 'lib', 'builtins.js'));
  const { generateJsonSchema } = require(join(root, 'dist', 'lib', 'core', 'jsonSchema.js'));
  const out = join(root, SCHEMA_FILE);
  mkdirSync(join(root, 'dist'), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(withoutRequired(generateJsonSchema()), null, 2) + '\n');
  renameSync(tmp, out);
  return out;
}

/** A copy of a JSON Schema without its `required` lists (keys may come from `_base_` files). */
export function withoutRequired(node) {
  if (Array.isArray(node)) return node.map(withoutRequired);
  if (typeof node !== 'object' || node === null) return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) if (!(k === 'required' && Array.isArray(v))) out[k] = withoutRequired(v);
  return out;
}
