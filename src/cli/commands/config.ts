import { stringify } from 'yaml';
import { resolveConfig } from '../../core/check';
import type { CommandSpec } from '../args';

export const configPrintCommand: CommandSpec = {
  name: 'config print',
  summary: 'Print the fully resolved config: _base_ files merged, overrides applied, defaults filled in',
  positionals: [{ name: 'config', description: 'Config file (YAML or JSON)' }],
  options: [
    { name: 'json', type: 'boolean', description: 'Print JSON instead of YAML' },
    { name: 'no-defaults', type: 'boolean', description: 'Leave out the defaults the config does not set' },
  ],
  overrides: true,
  run(args) {
    const resolved = resolveConfig(args.positionals[0], { overrides: args.overrides });
    const config = args.options['no-defaults'] ? resolved.loaded.config : resolved.config;
    process.stdout.write(args.options.json ? JSON.stringify(config, null, 2) + '\n' : stringify(config));
    return 0;
  },
};
