import { evaluate } from '../../eval/evaluate';
import type { CommandSpec } from '../args';

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: "Evaluate a checkpoint on a config's eval_pipelines (or a run directory on its own config)",
  positionals: [{ name: 'config', description: 'Config file, or a run directory (its config.yaml and best/latest checkpoint)' }],
  options: [
    { name: 'checkpoint', type: 'string', valueName: 'file|run', description: 'Weights to evaluate: a checkpoint file or a run directory (best, else latest)' },
    { name: 'no-ema', type: 'boolean', description: 'Use the raw weights even when the checkpoint holds EMA weights' },
    { name: 'json', type: 'boolean', description: 'Print the metrics as JSON on stdout' },
  ],
  overrides: true,
  async run(args) {
    const result = await evaluate(args.positionals[0], {
      checkpoint: args.options.checkpoint as string | undefined,
      overrides: args.overrides,
      noEma: !!args.options['no-ema'],
      log: (m) => process.stderr.write(m + '\n'),
    });
    if (args.options.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else for (const [k, v] of Object.entries(result.metrics)) process.stdout.write(`${k}\t${v.toFixed(4)}\n`);
    return 0;
  },
};
