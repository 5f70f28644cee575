/**
 * The component registry, loaded on first use rather than at activation: activation happens for
 * any YAML or JSON file, and most of those are not configs.
 */
let loaded = false;

export function ensureRegistry(): void {
  if (loaded) return;
  // Built-in components register themselves on import; none of them loads native code at top level.
  require('../builtins');
  // Custom modules (custom_imports) import `cv-workbench`, zod and tfjs: give them this extension's
  // own instances, so their components land in the registry the editor validates with. The API
  // (which shares itself the same way in the CLI) is loaded only when a custom module asks for it.
  const { shareModule } = require('../core/customImports') as typeof import('../core/customImports');
  shareModule('cv-workbench', () => require('../api'));
  shareModule('zod', () => {
    const { z } = require('zod') as typeof import('zod');
    return { z, default: z };
  });
  shareModule('@tensorflow/tfjs-core', () => require('@tensorflow/tfjs-core'));
  loaded = true;
}
