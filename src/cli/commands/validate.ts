import { checkConfig } from '../../core/check';
import { formatProblem, problemToJson, type Problem } from '../../core/problems';
import { CUSTOM_IMPORTS_OPTION, customImportsAllowed, type CommandSpec } from '../args';

export const validateCommand: CommandSpec = {
  name: 'validate',
  summary: 'Check configs against the registry: types, parameters, _base_ files; prints file:line:column: message',
  positionals: [{ name: 'configs', description: 'Config files (YAML or JSON)', variadic: true }],
  options: [
    { name: 'json', type: 'boolean', description: 'Print the problems as JSON (file, range, severity, message, suggestions)' },
    CUSTOM_IMPORTS_OPTION,
  ],
  overrides: true,
  details: 'Exit status: 0 when no config has errors, 1 otherwise.',
  run(args) {
    const all: Problem[] = [];
    const customImports = customImportsAllowed(args);
    for (const file of args.positionals) for (const p of checkConfig(file, { overrides: args.overrides, customImports }).problems) all.push(p);
    const errors = all.filter((p) => p.severity === 'error').length;
    if (args.options.json) {
      process.stdout.write(JSON.stringify(all.map(problemToJson), null, 2) + '\n');
    } else {
      for (const p of all) process.stdout.write(formatProblem(p) + '\n');
      const n = args.positionals.length;
      process.stderr.write(errors ? `${errors} error${errors === 1 ? '' : 's'} in ${n} config${n === 1 ? '' : 's'}\n` : `${n} config${n === 1 ? '' : 's'} OK\n`);
    }
    return errors ? 1 : 0;
  },
};
