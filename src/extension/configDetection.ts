/**
 * Which files are CV Workbench configs, decided without `vscode` so that it can be unit-tested:
 * files under the configured glob (checked by the caller with VS Code's own glob matcher), and
 * YAML files anywhere that say so by their content — a top-level `_base_`, or a top-level `model:`
 * mapping with a `type` (in a file of at most MAX_DETECTION_BYTES). Content alone never makes a
 * JSON file a config: `package.json`,
 * `tsconfig.json` and friends would be validated against the wrong schema.
 */
import { isMap, isScalar, parseDocument, type Node } from 'yaml';
import { nestingBeyond } from '../core/config/nesting';

export const CONFIG_FILE_PATTERN = /\.(ya?ml|json)$/i;
export const DEFAULT_CONFIG_GLOB = 'configs/**';

/** A top-level key `_base_` or `model` starts a line: cheap, so most YAML files stop here. */
const TOP_LEVEL_HINT = /^(?:_base_|model)[ \t]*:/m;

/**
 * Configs are a few KiB (the largest shipped is 2.3 KiB): YAML past this size is data, and is not
 * parsed for a config's marks. Parsing a 1 MiB file took seconds, for each of up to 5,000 files of
 * a workspace as it opened. Files under the config glob are configs whatever their size.
 */
export const MAX_DETECTION_BYTES = 64 * 1024;

/** True when a YAML text declares itself a config: `_base_:` or `model: {type: ...}` at the top level. */
export function looksLikeConfigText(text: string): boolean {
  if (text.length > MAX_DETECTION_BYTES || Buffer.byteLength(text, 'utf8') > MAX_DETECTION_BYTES) return false;
  if (!TOP_LEVEL_HINT.test(text)) return false;
  // Nesting deep enough to abort the yaml parser (and the extension host with it): a config by its
  // hint, so that the config checker reports the nesting at its line instead.
  if (nestingBeyond(text) !== undefined) return true;
  // A syntax error in a half-typed file must not make it stop being a config, so fall back on the hint.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  const root = doc.contents as Node | null;
  if (!isMap(root)) return doc.errors.length > 0;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    if (key === '_base_') return true;
    if (key === 'model' && isMap(pair.value) && pair.value.items.some((p) => isScalar(p.key) && p.key.value === 'type')) return true;
  }
  return doc.errors.length > 0;
}
