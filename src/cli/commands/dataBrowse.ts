import * as path from 'node:path';
import { UserError } from '../../core/problems';
import { browseDataset } from '../../data/browse';
import { dataTarget } from '../../data/targets';
import { writeAtomic } from '../../rundir/atomic';
import { CUSTOM_IMPORTS_OPTION, customImportsAllowed, numberOption, type CommandSpec } from '../args';

/** The picture's size bound (192 MB of RGB): 64 rows of a 10-view DINO config at 128 px are 12 M pixels. */
const MAX_PIXELS = 64e6;

export const dataBrowseCommand: CommandSpec = {
  name: 'data browse',
  summary: "Draw what a dataset's pipelines make of its images, as training sees them at an epoch: a PNG grid, one row per sample (the image, then every view, boxes and masks drawn)",
  positionals: [{ name: 'target', description: 'A config (full or dataset), or a data source (config, folder, list file, COCO JSON) to see its images as decoded' }],
  overrides: true,
  options: [
    { name: 'split', type: 'string', default: 'train', description: 'Which dataset of a full config to draw (train, val, test)' },
    { name: 'count', short: 'n', type: 'number', default: 8, description: 'Samples to draw, spread evenly over the dataset', range: { integer: true, min: 1, max: 64 } },
    { name: 'indices', type: 'string', valueName: 'i,j,...', description: 'The dataset items to draw, by index, instead of --count spread ones' },
    { name: 'epoch', type: 'number', default: 0, description: 'The epoch whose augmentations to draw (0-based; each epoch draws others)', range: { integer: true, min: 0 } },
    { name: 'seed', type: 'number', description: "Seed of the augmentations (default: the config's seed, so the views are the ones its training sees)", range: { integer: true, min: 0 } },
    { name: 'size', type: 'number', default: 128, description: 'Largest side of each drawn image in pixels (smaller images are enlarged by whole factors)', range: { integer: true, min: 16, max: 1024 } },
    { name: 'out', short: 'o', type: 'string', description: 'PNG to write (default: work_dirs/browse/<config>_<split>_e<epoch>.png)' },
    CUSTOM_IMPORTS_OPTION,
  ],
  details: 'Prints the picture\'s path and, per row, the item, its label and the size of each view.',
  async run(args) {
    const arg = args.positionals[0];
    const split = args.options.split as string;
    const target = dataTarget(arg, split, { customImports: customImportsAllowed(args), overrides: args.overrides });
    // A bare source: its images as decoded, one view with no steps.
    const plan = target.dataset ?? { type: 'source', source: target.source, views: [{ steps: [], pipeline: [] }], batchSize: 1, withBoxes: false };
    const indices = typeof args.options.indices === 'string' ? parseIndices(args.options.indices) : undefined;
    const epoch = numberOption(args, 'epoch')!;
    const cell = numberOption(args, 'size')!;
    const count = indices?.length ?? numberOption(args, 'count')!;
    const pixels = (4 + (plan.views.length + 1) * (cell + 4)) * (4 + count * (cell + 4));
    if (pixels > MAX_PIXELS) throw new UserError(`a picture of ${count} rows of ${plan.views.length + 1} images at ${cell} px would have ${(pixels / 1e6).toFixed(0)} M pixels, more than ${MAX_PIXELS / 1e6} M; lower --count or --size`);
    const seed = numberOption(args, 'seed') ?? target.seed ?? 0;
    const result = await browseDataset(plan, { split, seed, epoch, count, indices, cell, configDir: target.configDir });
    const stem = path.basename(arg).replace(/\.(ya?ml|json)$/i, '') || 'data';
    const out = path.resolve(typeof args.options.out === 'string' ? args.options.out : path.join('work_dirs', 'browse', `${stem}_${split}_e${epoch}.png`));
    writeAtomic(out, [result.png]);
    const shown = path.relative(process.cwd(), out).startsWith('..') ? out : path.relative(process.cwd(), out);
    const lines = [`${shown}: ${result.rows.length} sample${result.rows.length === 1 ? '' : 's'} x (image + ${result.views} view${result.views === 1 ? '' : 's'}), ${result.width}x${result.height}, epoch ${epoch}, seed ${seed}`];
    result.rows.forEach((r, k) => lines.push(`  row ${k + 1}: item ${r.index}${r.label !== undefined ? ` (${r.label})` : ''} ${r.where}: ${r.error ? `not made: ${r.error}` : r.views.join(', ')}`));
    process.stdout.write(lines.join('\n') + '\n');
    return result.rows.some((r) => r.error) ? 1 : 0;
  },
};

function parseIndices(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  const bad = parts.find((s, i) => s === '' || !Number.isInteger(values[i]) || values[i] < 0);
  if (bad !== undefined) throw new UserError(`--indices: "${bad}" is not an item index; give indices separated by commas, e.g. 0,5,17`);
  if (values.length > 64) throw new UserError(`--indices: ${values.length} indices, at most 64`);
  return values;
}
