import * as path from 'node:path';
import { UserError } from '../../core/problems';
import { SHAPES_DEFAULTS, synthShapes } from '../../data/synth/shapes';
import { numberOption, type CommandSpec } from '../args';
import { progressBar } from './dataProgress';

const D = SHAPES_DEFAULTS;

export const dataSynthCommand: CommandSpec = {
  name: 'data synth',
  summary: 'Make a synthetic data set: `shapes` draws circles, squares and triangles with boxes (train/val PNGs and COCO JSON)',
  positionals: [{ name: 'kind', description: 'What to make: shapes' }],
  options: [
    { name: 'out', short: 'o', type: 'string', default: 'data/shapes', description: 'Folder to write: <out>/{train,val}/*.png and <out>/annotations/instances_{train,val}.json' },
    { name: 'train', type: 'number', default: D.splits.train, description: 'Training images', range: { integer: true, min: 0 } },
    { name: 'val', type: 'number', default: D.splits.val, description: 'Validation images', range: { integer: true, min: 0 } },
    { name: 'size', type: 'number', default: D.size, description: 'Image side in pixels', range: { integer: true, min: 32, max: 4096 } },
    { name: 'min-shapes', type: 'number', default: D.minShapes, description: 'Fewest shapes per image', range: { integer: true, min: 0, max: 1000 } },
    { name: 'max-shapes', type: 'number', default: D.maxShapes, description: 'Most shapes per image', range: { integer: true, min: 0, max: 1000 } },
    { name: 'min-side', type: 'number', default: D.minSide, description: 'Smallest shape (diameter or side) in pixels', range: { integer: true, min: 1 } },
    { name: 'max-side', type: 'number', default: D.maxSide, description: 'Largest shape in pixels', range: { integer: true, min: 0 } },
    { name: 'masks', type: 'boolean', description: 'Also write a segmentation mask per image: <out>/masks/{train,val}/*.png (0 background, 1 circle, 2 square, 3 triangle) and <out>/masks/classes.txt' },
    { name: 'seed', type: 'number', default: D.seed, description: 'Seed: the same options give identical files', range: { integer: true, min: 0 } },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'No progress on stderr' },
  ],
  details: 'Train on it with configs/detection/yolox_nano_shapes.yaml (or templates/YOLOX.yaml); with --masks, segment it with configs/segmentation/fcn_resnet18_shapes.yaml.',
  async run(args) {
    const kind = args.positionals[0];
    if (kind !== 'shapes') throw new UserError(`unknown kind "${kind}"; the kinds are: shapes`);
    const num = (name: string) => numberOption(args, name)!; // every one has a default
    const out = path.resolve(String(args.options.out));
    const bar = progressBar('drawing', 'items', !!args.options.quiet);
    const summary = await synthShapes(
      {
        out,
        splits: { train: num('train'), val: num('val') },
        size: num('size'),
        minShapes: num('min-shapes'),
        maxShapes: num('max-shapes'),
        minSide: num('min-side'),
        maxSide: num('max-side'),
        maxOverlap: D.maxOverlap,
        seed: num('seed'),
        masks: !!args.options.masks,
      },
      (d, t) => bar.update(d, t),
    );
    bar.finish();
    for (const [split, s] of Object.entries(summary.splits)) {
      const masks = s.maskDir ? `, masks ${path.relative(process.cwd(), s.maskDir)}` : '';
      process.stdout.write(`${split}: ${s.images} images, ${s.boxes} boxes -> ${path.relative(process.cwd(), s.imgDir) || '.'}, ${path.relative(process.cwd(), s.annFile)}${masks}\n`);
    }
    return 0;
  },
};
