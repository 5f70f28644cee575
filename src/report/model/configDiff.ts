/**
 * The config keys in which runs differ: each config flattened to dotted paths
 * (`optimizer.lr`, `data.train.pipeline[0].type`), then only the paths whose values are not the
 * same in every run. What a person comparing runs wants to read first. Browser-safe.
 */

/** A config flattened to `path -> value as text` (JSON for strings, so `"1"` and `1` differ). */
export function flattenConfig(value: unknown, prefix = '', out: Map<string, string> = new Map()): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0 && prefix) out.set(prefix, '[]');
    value.forEach((v, i) => flattenConfig(v, `${prefix}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, '{}');
    for (const [k, v] of entries) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, value === undefined ? 'undefined' : typeof value === 'string' ? value : JSON.stringify(value));
  }
  return out;
}

export interface ConfigDifference {
  key: string;
  /** One entry per run, in the order given; undefined where that run's config lacks the key. */
  values: Array<string | undefined>;
}

/**
 * Keys whose values differ between the configs (a missing config counts as having no keys), in
 * the order they first appear.
 */
export function diffConfigs(configs: ReadonlyArray<Record<string, unknown> | undefined>): ConfigDifference[] {
  const flat = configs.map((c) => (c ? flattenConfig(c) : new Map<string, string>()));
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const f of flat) {
    for (const k of f.keys()) {
      if (seen.has(k)) continue;
      seen.add(k);
      keys.push(k);
    }
  }
  const out: ConfigDifference[] = [];
  for (const key of keys) {
    const values = flat.map((f) => f.get(key));
    if (values.some((v) => v !== values[0])) out.push({ key, values });
  }
  return out;
}
