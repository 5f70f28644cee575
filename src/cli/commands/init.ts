import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../../core/check';
import { listTemplates, templateFile, templateSummary, commentedYaml } from '../../templates';
import { writeAtomic } from '../../rundir/atomic';
import { UserError } from '../../core/problems';
import type { CommandSpec } from '../args';
import { shellWord } from '../../runs/args';

export const initCommand: CommandSpec = {
  name: 'init',
  summary: 'Write a commented starter config from a template (Classification, SimCLR, MoCoV2, BYOL, ...)',
  positionals: [{ name: 'template', description: `Template: ${listTemplates().join(', ')}` }],
  options: [
    { name: 'out', short: 'o', type: 'string', valueName: 'file', description: 'Where to write it (default: configs/<template>.yaml); - for stdout' },
    { name: 'force', type: 'boolean', description: 'Overwrite an existing file' },
  ],
  overrides: true,
  run(args) {
    const name = args.positionals[0];
    const file = templateFile(name);
    const template = path.basename(file, '.yaml');
    // Validate the template with the overrides first: a starter config must run as written.
    const { loaded } = resolveConfig(file, { overrides: args.overrides });
    const out = (args.options.out as string | undefined) ?? path.join('configs', `${template.toLowerCase()}.yaml`);
    const header = [
      `${template}: ${templateSummary(template)}`,
      `Started from the ${template} template by \`cvw init\`. Every key carries its description from the schema;`,
      'run `cvw show <type>` for all the parameters of a component, or edit with completion in VS Code.',
    ];
    const text = commentedYaml(loaded.config, header);
    if (out === '-') {
      process.stdout.write(text);
      return 0;
    }
    if (fs.existsSync(out) && !args.options.force) throw new UserError(`${out} exists; use --force to overwrite it, or --out another file`);
    writeAtomic(path.resolve(out), [text]);
    process.stderr.write(`wrote ${out}\ntrain it with: cvw train ${shellWord(out)}\n`);
    process.stdout.write(`${out}\n`);
    return 0;
  },
};
