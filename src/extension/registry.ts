/**
 * The component registry, loaded on first use rather than at activation: activation happens for
 * any YAML or JSON file, and most of those are not configs.
 */
let loaded = false;

export function ensureRegistry(): void {
  if (loaded) return;
  // Built-in components register themselves on import; none of them loads native code at top level.
  require('../builtins');
  loaded = true;
}
