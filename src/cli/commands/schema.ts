import { generateJsonSchema } from '../../core/jsonSchema';
import { checkConfig } from '../../core/check';
import type { CommandSpec } from '../args';

export const schemaCommand: CommandSpec = {
  name: 'schema',
  summary: 'Print the JSON Schema of the config language, generated from the registry',
  options: [{ name: 'config', type: 'string', valueName: 'file', description: 'Also include the custom components a config imports (custom_imports)' }],
  run(args) {
    if (typeof args.options.config === 'string') checkConfig(args.options.config);
    process.stdout.write(JSON.stringify(generateJsonSchema(), null, 2) + '\n');
    return 0;
  },
};
