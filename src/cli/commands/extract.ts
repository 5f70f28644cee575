/** `cvw extract <run or checkpoint>`: write frozen features for retrieval (src/eval/benchmark.ts). */
import { extractFeatures } from '../../eval/benchmark';
import { BACKENDS, type EngineConfig } from '../../engine/configSection';
import { UsageError, type CommandSpec } from '../args';

export const extractCommand: CommandSpec = {
  name: 'extract',
  summary: 'Write the features of a dataset for retrieval: <split>.npy ([count, dim] float32) and <split>.json (labels, dataset indices, image origins) in <run>/features',
  positionals: [{ name: 'run', description: 'A run directory (its best, else latest checkpoint) or a checkpoint file' }],
  options: [
    { name: 'split', type: 'list', valueName: 'val,train', description: 'Sets to extract: val (the test set) and/or train (the training set read without augmentation)' },
    { name: 'data', type: 'string', valueName: 'config', description: 'Config whose data.train / data.val to read (default: the run\'s own data)' },
    { name: 'out', type: 'string', valueName: 'dir', description: 'Folder for the files (default: <run>/features)' },
    { name: 'no-ema', type: 'boolean', description: 'Use the raw weights even when the checkpoint holds EMA weights' },
    { name: 'backend', type: 'string', description: 'Engine backend (overrides engine.backend)', choices: BACKENDS },
    { name: 'json', type: 'boolean', description: 'Print the files written as JSON on stdout' },
  ],
  overrides: true,
  details: 'Read the features in Python with numpy.load("val.npy"); rows follow the dataset order of val.json.',
  async run(args) {
    const splits = ((args.options.split as string[] | undefined) ?? ['val']).map((s) => s.trim());
    for (const s of splits) if (s !== 'val' && s !== 'train') throw new UsageError(`--split takes val and/or train, got "${s}"`);
    const backend = args.options.backend as EngineConfig['backend'] | undefined;
    const engine: Partial<EngineConfig> = backend ? { backend } : {};
    const r = await extractFeatures(args.positionals[0], {
      splits: splits as Array<'train' | 'val'>,
      data: args.options.data as string | undefined,
      out: args.options.out as string | undefined,
      noEma: !!args.options['no-ema'],
      overrides: args.overrides,
      engine,
      log: (m) => process.stderr.write(m + '\n'),
    });
    if (args.options.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else for (const f of r.files) process.stdout.write(`${f}\n`);
    return 0;
  },
};
