/** `cvw report <run>`: compute the run report's predictions (src/report/generate.ts), optionally write it as one HTML file. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../core/packageInfo';
import { UserError } from '../../core/problems';
import { generateReport } from '../../report/generate';
import { isRunDir, RUN_FILES } from '../../rundir';
import { writeStandaloneReport } from '../../report/standalone';
import { writeReportComparison } from '../../report/evalFiles';
import { numberOption, UsageError, type CommandSpec } from '../args';


export const reportCommand: CommandSpec = {
  name: 'report',
  summary: 'Compute a run report: sample predictions with images (segmentors: image, truth and prediction overlays and the per-class IoU table), nearest-neighbour retrieval and a PCA projection of features (report/report.json and report/images/ in the run); --html writes it all as one standalone HTML file',
  positionals: [{ name: 'run', description: 'A run directory (its best, else latest checkpoint)' }],
  options: [
    { name: 'split', type: 'string', description: 'Data split of the run\'s config to take images from (default: val, else test, else train)' },
    { name: 'gallery', type: 'number', description: 'Images in the gallery of predictions', default: 48, range: { integer: true, min: 0 } },
    { name: 'queries', type: 'number', description: 'Query images for nearest-neighbour retrieval', default: 6, range: { integer: true, min: 0 } },
    { name: 'neighbours', type: 'number', description: 'Neighbours shown per query', default: 8, range: { integer: true, min: 0 } },
    { name: 'points', type: 'number', description: 'Images embedded for retrieval and the projection', default: 1000, range: { integer: true, min: 0 } },
    { name: 'html', type: 'string', valueName: 'file', description: 'Also write the whole report as one HTML file (default <run>/report/report.html when given without a value: --html=)' },
    { name: 'compare', type: 'string', valueName: 'run', description: 'Compare the run class by class with another run (confusion matrices and their difference, per-class accuracy/AP/IoU, the images predicted differently; report/compare.json)' },
    { name: 'no-predict', type: 'boolean', description: 'Only write the HTML of what the run has (no predictions computed)' },
    { name: 'json', type: 'boolean', description: 'Print what was written as JSON' },
  ],
  details: 'The extension\'s Run Report panel runs this command from its Generate button and shows the result.',
  async run(args) {
    const dir = args.positionals[0];
    if (!dir) throw new UsageError('missing <run>: give a run directory');
    if (!isRunDir(dir)) throw new UserError(`${dir}: not a run directory (no ${RUN_FILES.run})`);
    const written: Record<string, string> = {};
    const compare = args.options.compare;
    if (args.options['no-predict'] && args.options.html === undefined && compare === undefined) throw new UsageError('--no-predict leaves nothing to do: add --html (the standalone HTML of what the run has) or --compare <run>');
    if (compare !== undefined) {
      if (typeof compare !== 'string' || !compare) throw new UsageError('--compare needs a run directory');
      written.compare = writeReportComparison(dir, [compare]);
    }
    if (!args.options['no-predict']) {
      const { file, report } = await generateReport(dir, {
        split: args.options.split as string | undefined,
        gallery: numberOption(args, 'gallery'),
        queries: numberOption(args, 'queries'),
        neighbours: numberOption(args, 'neighbours'),
        points: numberOption(args, 'points'),
        log: (m) => process.stderr.write(m + '\n'),
      });
      written.report = file;
      process.stderr.write(`report: ${report.gallery?.length ?? report.detections?.length ?? report.segmentation?.overlays.length ?? 0} predictions, ${report.retrieval?.length ?? 0} retrieval queries, ${report.projection?.x.length ?? 0} projected points in ${report.seconds.toFixed(1)} s\n`);
    }
    const html = args.options.html;
    if (html !== undefined) {
      const bundle = path.join(packageRoot(), 'dist', 'webview', 'report.js');
      if (!fs.existsSync(bundle)) throw new UserError(`${bundle} is missing: build the package first (npm run build)`);
      written.html = writeStandaloneReport(dir, bundle, typeof html === 'string' && html ? path.resolve(html) : undefined);
    }
    if (args.options.json) process.stdout.write(JSON.stringify(written, null, 2) + '\n');
    else for (const f of Object.values(written)) process.stdout.write(f + '\n');
    return 0;
  },
};
