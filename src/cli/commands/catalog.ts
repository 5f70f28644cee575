import { COMPONENT_KINDS, KIND_NAMES, isComponentKind, type ComponentKind } from '../../core/kinds';
import { registries, findComponent } from '../../core/registry';
import { closestNames, didYouMean } from '../../core/suggest';
import { UserError } from '../../core/problems';
import { componentPage, paramDocs } from '../../core/language/componentDocs';
import { registrationSource } from '../../core/registrationSource';
import { UsageError, type CommandSpec } from '../args';

/** The names `cvw list` takes for each kind. A Map: `cvw list constructor` must find no kind. */
const KIND_ALIASES = new Map<string, ComponentKind>([
  ...COMPONENT_KINDS.flatMap((k): Array<[string, ComponentKind]> => [
    [k, k],
    [KIND_NAMES[k].many.split(' ')[0], k],
    [KIND_NAMES[k].one.split(' ')[0] + 's', k],
  ]),
  ['algorithms', 'model'],
  ['sources', 'source'],
  ['schedules', 'lr_schedule'],
]);

export const listCommand: CommandSpec = {
  name: 'list',
  summary: 'List the registered components (backbones, necks, heads, algorithms, sources, pipeline steps, hooks, ...)',
  positionals: [{ name: 'kind', description: `One kind only: ${COMPONENT_KINDS.join(', ')} (plurals work too)`, optional: true }],
  options: [{ name: 'json', type: 'boolean', description: 'Print JSON: kind, type, description, paper, parameters' }],
  run(args) {
    const wanted = args.positionals[0];
    let kinds: ComponentKind[] = [...COMPONENT_KINDS];
    if (wanted) {
      const k = KIND_ALIASES.get(wanted) ?? (isComponentKind(wanted) ? wanted : undefined);
      if (!k) throw new UsageError(`unknown kind "${wanted}"${didYouMean(closestNames(wanted, [...KIND_ALIASES.keys()]))}`, 'list');
      kinds = [k];
    }
    if (args.options.json) {
      const out = kinds.flatMap((k) => registries[k].entries().map((e) => ({ kind: k, type: e.type, description: e.description, paper: e.paper, builtin: e.builtin, parameters: paramDocs(e) })));
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return 0;
    }
    for (const k of kinds) {
      const entries = registries[k].entries();
      if (!entries.length) continue;
      process.stdout.write(`${KIND_NAMES[k].many}:\n`);
      const width = Math.max(...entries.map((e) => e.type.length)) + 2;
      for (const e of entries) process.stdout.write(`  ${e.type.padEnd(width)}${e.description}\n`);
    }
    return 0;
  },
};

export const showCommand: CommandSpec = {
  name: 'show',
  summary: "Show a component's parameters (types, defaults, descriptions), the paper or source it follows and the file that registers it",
  positionals: [{ name: 'type', description: 'A registered type name, e.g. ResNet, SimCLR, RandomResizedCrop' }],
  options: [{ name: 'json', type: 'boolean', description: 'Print JSON' }],
  run(args) {
    const type = args.positionals[0];
    const all = COMPONENT_KINDS.flatMap((k) => registries[k].names());
    const entry = findComponent(type) ?? findComponent(all.find((n) => n.toLowerCase() === type.toLowerCase()) ?? '');
    if (!entry) {
      throw new UserError(`no component named "${type}"${didYouMean(closestNames(type, all))} (see \`cvw list\`)`);
    }
    const source = registrationSource(entry);
    if (args.options.json) {
      process.stdout.write(JSON.stringify({ kind: entry.kind, type: entry.type, description: entry.description, paper: entry.paper, builtin: entry.builtin, source, parameters: paramDocs(entry) }, null, 2) + '\n');
    } else {
      process.stdout.write(componentPage(entry.kind, entry.type));
      if (source) process.stdout.write(`Registered in ${source.file}${source.line ? `:${source.line}` : ''}\n`);
    }
    return 0;
  },
};
