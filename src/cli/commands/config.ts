import { stringify } from 'yaml';
import { resolveConfig } from '../../core/check';
import { describeOrigin, resolvedView } from '../../core/config/resolvedView';
import { formatProblem } from '../../core/problems';
import { CUSTOM_IMPORTS_OPTION, customImportsAllowed, type CommandSpec } from '../args';

export const configPrintCommand: CommandSpec = {
  name: 'config print',
  summary: 'Print the fully resolved config: _base_ files merged, overrides applied, defaults filled in',
  positionals: [{ name: 'config', description: 'Config file (YAML or JSON)' }],
  options: [
    { name: 'json', type: 'boolean', description: 'Print JSON instead of YAML' },
    { name: 'no-defaults', type: 'boolean', description: 'Leave out the defaults the config does not set' },
    { name: 'origins', type: 'boolean', description: 'Say where each value came from: file:line:column, the override, or default (with --json: {config, origins})' },
    CUSTOM_IMPORTS_OPTION,
  ],
  overrides: true,
  run(args) {
    const resolved = resolveConfig(args.positionals[0], { overrides: args.overrides, customImports: customImportsAllowed(args) });
    const config = args.options['no-defaults'] ? resolved.loaded.config : resolved.config;
    // Warnings (values that never apply) matter most when reading where values came from.
    if (args.options.origins) for (const w of resolved.warnings) process.stderr.write(formatProblem(w) + '\n');
    const view = args.options.origins ? resolvedView(config, resolved.loaded.origins, resolved.loaded.config, { comment: (o) => describeOrigin(o, process.cwd()) }) : undefined;
    if (args.options.json) {
      const out = view ? { config, origins: Object.fromEntries(view.values.map((v) => [v.path, describeOrigin(v.origin, process.cwd())])) } : config;
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else process.stdout.write(view ? view.text : stringify(config));
    return 0;
  },
};
