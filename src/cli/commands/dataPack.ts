import * as path from 'node:path';
import { packSource } from '../../data/tfrecord/pack';
import { pathResolver } from '../../data/loader';
import { dataTarget } from '../../data/targets';
import { CUSTOM_IMPORTS_OPTION, customImportsAllowed, UsageError, type CommandSpec } from '../args';
import { human, progressBar } from './dataProgress';

/** Relative to the working directory when inside it, else absolute. */
function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

export const dataPackCommand: CommandSpec = {
  name: 'data pack',
  summary: 'Pack a data source into TFRecord shards (tf.train.Example, TensorFlow\'s record format) with DALI index files',
  positionals: [{ name: 'source', description: 'A folder of images (class sub-folders), a list file, a data set folder, or a config (a source, a dataset, or a full config\'s data.<split>)' }],
  options: [
    { name: 'out', short: 'o', type: 'string', valueName: 'dir', description: 'Folder for the shards, their .idx files and classes.txt' },
    { name: 'shards', type: 'number', default: 1, description: 'Number of shards', range: { integer: true, min: 1 } },
    { name: 'split', type: 'string', default: 'train', description: 'Which dataset of a full config to pack (train, val, test)' },
    { name: 'prefix', type: 'string', description: 'Shard name prefix (default: the split): <prefix>-00000-of-00004.tfrecord' },
    { name: 'shuffle', type: 'boolean', default: true, description: 'Spread the items over the shards in a seeded random order (--no-shuffle keeps the source order)' },
    { name: 'seed', type: 'number', default: 0, description: 'Seed of that order', range: { integer: true, min: 0 } },
    CUSTOM_IMPORTS_OPTION,
    { name: 'skip-corrupt', type: 'boolean', description: 'Skip unreadable items (listing them) instead of stopping' },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'No progress on stderr' },
  ],
  details: 'Encoded images (JPEG, PNG, WebP) are stored byte for byte; raw-pixel sources (MNIST, CIFAR) as PNG; segmentation masks (SegFolder, VOCSegmentation) as their PNGs under image/segmentation/class/encoded, read back by the TFRecord source.',
  async run(args) {
    const out = args.options.out as string | undefined;
    if (!out) throw new UsageError('--out <dir> is required: the folder for the shards');
    const shards = args.options.shards as number;
    const split = args.options.split as string;
    const skipCorrupt = !!args.options['skip-corrupt'];
    const target = dataTarget(args.positionals[0], split, { customImports: customImportsAllowed(args) });
    const skippedAtOpen: Array<{ where: string; reason: string }> = [];
    const source = await target.source.open({ split, skipCorrupt, skip: (where, reason) => skippedAtOpen.push({ where, reason }), resolvePath: pathResolver(target.configDir) });
    const bar = progressBar('packing', 'items', !!args.options.quiet);
    try {
      const result = await packSource(source, {
        out,
        shards,
        prefix: (args.options.prefix as string | undefined) ?? split,
        shuffle: args.options.shuffle as boolean,
        seed: args.options.seed as number,
        skipCorrupt,
        onProgress: (done, total) => bar.update(done, total),
      });
      bar.finish();
      const records = result.shards.reduce((n, s) => n + s.records, 0);
      const bytes = result.shards.reduce((n, s) => n + s.bytes, 0);
      for (const s of result.shards) process.stdout.write(`${displayPath(s.file)}\t${s.records} records\t${s.bytes} bytes\n`);
      const skipped = [...skippedAtOpen, ...result.skipped];
      for (const s of skipped) process.stderr.write(`skipped ${s.where}: ${s.reason}\n`);
      process.stderr.write(`${records} records in ${result.shards.length} shard${result.shards.length === 1 ? '' : 's'} (${human(bytes, 'bytes')})${skipped.length ? `, ${skipped.length} item(s) skipped` : ''}\n`);
      return 0;
    } finally {
      source.close?.();
    }
  },
};
