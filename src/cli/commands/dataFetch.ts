import { fetchDataset, RECIPES } from '../../data/fetch';
import { UsageError, type CommandSpec } from '../args';
import { progressBar, type Progress } from './dataProgress';

export const dataFetchCommand: CommandSpec = {
  name: 'data fetch',
  summary: 'Download a standard data set (fashion-mnist, cifar10) with SHA-256 verification and resume, or copy it from a local folder',
  positionals: [{ name: 'dataset', description: `One of: ${Object.keys(RECIPES).join(', ')}` }],
  options: [
    { name: 'dir', type: 'string', valueName: 'dir', description: 'Destination folder (default: data/<dataset> — the source\'s default root)' },
    { name: 'from', type: 'string', valueName: 'path', description: 'Copy from a local folder or archive instead of downloading (e.g. /usr/share/datasets/fashion-mnist)' },
    { name: 'mirror', type: 'list', valueName: 'url', description: 'Base URL(s) to download from instead of the official ones' },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'No progress or messages on stderr' },
  ],
  details: 'An interrupted download leaves <file>.part; running the command again continues it.\n' + Object.values(RECIPES).map((r) => `  ${r.name.padEnd(14)} ${r.description}; licence: ${r.licence}`).join('\n'),
  async run(args) {
    const name = args.positionals[0];
    // Own names only: `constructor` or `__proto__` would find Object.prototype's members.
    const recipe = Object.hasOwn(RECIPES, name) ? RECIPES[name] : undefined;
    if (!recipe) throw new UsageError(`unknown data set "${name}"; choose one of ${Object.keys(RECIPES).join(', ')}`);
    const quiet = !!args.options.quiet;
    const bars = new Map<string, Progress>();
    const dir = await fetchDataset(recipe, {
      dir: args.options.dir as string | undefined,
      from: args.options.from as string | undefined,
      mirrors: args.options.mirror as string[] | undefined,
      progress(file, done, total) {
        let bar = bars.get(file);
        if (!bar) bars.set(file, (bar = progressBar(file, 'bytes', quiet)));
        bar.update(done, total);
        if (total !== undefined && done >= total) bar.finish();
      },
      log: (line) => {
        if (!quiet) process.stderr.write(line + '\n');
      },
    });
    process.stdout.write(dir + '\n');
    return 0;
  },
};
