import { inspectSource, type InspectReport } from '../../data/inspect';
import { formatMaskReport, inspectMasks } from '../../data/masks/inspect';
import { pathResolver } from '../../data/loader';
import { dataTarget } from '../../data/targets';
import { CUSTOM_IMPORTS_OPTION, customImportsAllowed, type CommandSpec } from '../args';
import { progressBar } from './dataProgress';

function formatReport(r: InspectReport, sourceType: string): string {
  const lines = [`${sourceType}: ${r.items} item${r.items === 1 ? '' : 's'}, ${r.channels === 1 ? 'grey (1 channel)' : 'RGB (3 channels)'}`];
  if (r.classes) {
    // A loop, not Math.max(...): a class-names file of 200,000 lines overflowed the call stack as arguments.
    const width = r.classes.reduce((w, c) => Math.max(w, c.name.length), 5);
    lines.push(`classes: ${r.classes.length}`);
    for (const c of r.classes) lines.push(`  ${String(c.label).padStart(4)}  ${c.name.padEnd(width)}  ${r.boxes ? `${r.boxes.perClass[c.label] ?? 0} boxes` : c.count}`);
  }
  if (r.unlabelled && r.unlabelled < r.items) lines.push(`unlabelled items: ${r.unlabelled}`);
  else if (r.unlabelled === r.items && !r.boxes) lines.push('unlabelled');
  if (r.boxes) lines.push(`boxes: ${r.boxes.total}`);
  if (r.sizes.length) {
    const shown = r.sizes.slice(0, 8).map((s) => `${s.width}x${s.height} (${s.count})`);
    const basis = r.sized === r.items ? 'all items' : `${r.sized} sampled items`;
    lines.push(`image sizes (${basis}): ${shown.join(', ')}${r.sizes.length > 8 ? `, and ${r.sizes.length - 8} more sizes` : ''}`);
  }
  if (r.checked !== undefined) lines.push(`checked: ${r.checked} item${r.checked === 1 ? '' : 's'} decoded, ${r.bad.length} bad`);
  for (const b of r.bad) lines.push(`  bad: ${b.where}: ${b.reason}`);
  return lines.join('\n');
}

export const dataInspectCommand: CommandSpec = {
  name: 'data inspect',
  summary: 'Describe a data source: items, classes and their counts, image sizes; --check decodes every item and lists the bad ones',
  positionals: [{ name: 'target', description: 'A config (full, dataset or source), a folder of images, a data set folder, TFRecord shards, a list file or a COCO JSON' }],
  options: [
    { name: 'check', type: 'boolean', description: 'Decode every item and list the ones that fail' },
    { name: 'split', type: 'string', default: 'train', description: 'Which dataset of a full config to inspect (train, val, test)' },
    { name: 'json', type: 'boolean', description: 'Print the report as JSON' },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'No progress on stderr' },
    CUSTOM_IMPORTS_OPTION,
  ],
  details: 'Exit status: 0, or 1 when --check finds bad items.',
  async run(args) {
    const split = args.options.split as string;
    const target = dataTarget(args.positionals[0], split, { customImports: customImportsAllowed(args) });
    const openSkipped: Array<{ where: string; reason: string }> = [];
    // Problems found while opening (bad list lines, bad annotations) are listed, not fatal, here.
    const source = await target.source.open({ split, skipCorrupt: true, skip: (where, reason) => openSkipped.push({ where, reason }), resolvePath: pathResolver(target.configDir) });
    const bar = progressBar(args.options.check ? 'checking' : 'reading', 'items', !!args.options.quiet);
    try {
      const report = await inspectSource(source, { check: !!args.options.check, progress: (d, t) => bar.update(d, t) });
      const masks = await inspectMasks(source, 255, (d, t) => bar.update(d, t));
      bar.finish();
      // Concatenated, not unshift(...)/push(...): 200,000 bad list lines overflowed the call stack as arguments.
      report.bad = openSkipped.concat(report.bad);
      if (masks) {
        // Segmentation: classes are counted in pixels (the masks), not per item.
        report.bad = report.bad.concat(masks.bad);
        report.classes = undefined;
        report.unlabelled = 0;
      }
      if (args.options.json) process.stdout.write(JSON.stringify({ source: target.config, ...report, masks }, null, 2) + '\n');
      else process.stdout.write([formatReport(report, String(target.config.type)), ...(masks ? formatMaskReport(masks) : [])].join('\n') + '\n');
      return report.bad.length ? 1 : 0;
    } finally {
      source.close?.();
    }
  },
};
