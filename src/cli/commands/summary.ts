import { BACKENDS, type EngineConfig } from '../../engine/configSection';
import { formatSummary, summarizeModel } from '../../train/modelSummary';
import { numberOption, type CommandSpec } from '../args';

export const summaryCommand: CommandSpec = {
  name: 'summary',
  summary: "A config's model and the cost of a training step before a run: parameters per module, MACs of the backbone and of a step, the step's memory at the config's batch size",
  positionals: [{ name: 'config', description: 'Config file (YAML or JSON)' }],
  overrides: true,
  options: [
    { name: 'depth', type: 'number', default: 2, description: 'Module rows down to this depth (1: the algorithm\'s parts)', range: { integer: true, min: 1, max: 8 } },
    { name: 'backend', type: 'string', description: 'Engine backend (overrides engine.backend)', choices: BACKENDS },
    { name: 'json', type: 'boolean', description: 'Print the summary as JSON' },
  ],
  details:
    "Measured on two real samples of data.train: the engine's kernel records (tf.profile) give the multiply-adds of convolutions and matrix products (as fvcore and mmpretrain's get_flops count them) and the tensors a forward and backward step holds at one and two samples, from which the step's memory at data.train.batch_size is drawn.",
  async run(args) {
    const engine: Partial<EngineConfig> = {};
    if (args.options.backend !== undefined) engine.backend = args.options.backend as EngineConfig['backend'];
    const summary = await summarizeModel(args.positionals[0], { overrides: args.overrides, engine, depth: numberOption(args, 'depth') });
    process.stdout.write((args.options.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)) + '\n');
    return 0;
  },
};
