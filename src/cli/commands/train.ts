import { train } from '../../train/train';
import { BACKENDS, DEVICES, type EngineConfig } from '../../engine/configSection';
import { UsageError, type CommandSpec } from '../args';
import { listTemplates, templateFile } from '../../templates';
import * as path from 'node:path';
import { launchRanks, MAX_LOCAL_RANKS } from '../../distributed/launch';
import { launcherWorldSize } from '../../distributed/world';
import { tellLauncher } from '../relaunch';
import { makeNewRunDir } from '../../rundir';
import { resolveConfig } from '../../core/check';
import * as fs from 'node:fs';

export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'Train a model from a config; writes a run directory (run.json, config.yaml, metrics.jsonl, log.txt, checkpoints/)',
  positionals: [{ name: 'config', description: 'Config file (YAML or JSON); optional with --resume or --model-type', optional: true }],
  options: [
    { name: 'model-type', type: 'string', valueName: 'type', description: `Train from the template of a model type, no config file needed: ${listTemplates().join(', ')}` },
    { name: 'work-dir', type: 'string', valueName: 'dir', description: 'Run directory to create (default: work_dirs/<config stem>/<run id>)' },
    { name: 'resume', type: 'string', valueName: 'run|ckpt', description: 'Continue a run (its directory) or start from a checkpoint with its optimizer state and progress' },
    { name: 'max-iters', type: 'number', description: 'Stop after this many iterations, whatever the config says (smoke runs)', range: { integer: true, min: 1 } },
    { name: 'backend', type: 'string', description: 'Engine backend (overrides engine.backend)', choices: BACKENDS },
    { name: 'device', type: 'string', description: 'Engine device (overrides engine.device)', choices: DEVICES },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'No progress on stderr (the run directory gets everything)' },
    { name: 'json', type: 'boolean', description: 'Print the result (run directory, status, metrics) as JSON on stdout' },
    { name: 'nproc', type: 'number', description: 'Data-parallel training on N processes of this machine (starts mpirun; needs Open MPI). Under mpirun/srun, each process joins by itself', range: { integer: true, min: 1, max: MAX_LOCAL_RANKS } },
  ],
  overrides: true,
  details:
    'Stop with Ctrl+C (SIGINT) or SIGTERM: the run writes a last checkpoint and can be resumed with --resume <run directory>. ' +
    'Data-parallel: `cvw train --nproc N` or `mpirun -np N cvw train ...` trains on N ranks, each reading its share of every epoch with the configured batch size (effective batch = batch_size x N); rank 0 writes the run.',
  async run(args) {
    const engine: Partial<EngineConfig> = {};
    const backend = args.options.backend as EngineConfig['backend'] | undefined;
    const device = args.options.device as EngineConfig['device'] | undefined;
    if (backend !== undefined) engine.backend = backend;
    if (device !== undefined) engine.device = device;
    const maxIters = args.options['max-iters'] as number | undefined;
    const modelType = args.options['model-type'] as string | undefined;
    if (modelType && args.positionals[0]) throw new UsageError('give a config file or --model-type, not both');
    const config = modelType ? templateFile(modelType) : args.positionals[0];
    const nproc = args.options.nproc as number | undefined;
    if (nproc !== undefined && nproc > 1 && launcherWorldSize() === 1) {
      // The ranks write the run directory chosen here, so that a rank's death can be recorded in it.
      const resume = args.options.resume as string | undefined;
      let workDir = args.options['work-dir'] as string | undefined;
      // Checked here, with its overrides: otherwise every rank printed the same error under
      // mpirun's notice of a failed job, and the run directory made below stayed behind, empty.
      if (config && !resume) resolveConfig(config, { overrides: args.overrides });
      const made = !workDir && !resume && config ? makeNewRunDir(path.resolve('work_dirs', path.basename(config).replace(/\.(ya?ml|json)$/i, ''))) : undefined;
      workDir ??= made;
      const rest = withoutOption(process.argv.slice(2), 'nproc');
      try {
        return await launchRanks({ nproc, args: made ? withOption(rest, '--work-dir', made) : rest, runDir: resume ?? workDir });
      } finally {
        // No rank got as far as writing it (no mpirun, a rank that failed at once): it goes.
        if (made && fs.readdirSync(made).length === 0) fs.rmdirSync(made);
      }
    }
    const result = await train(config, {
      workDir: args.options['work-dir'] as string | undefined,
      resume: args.options.resume as string | undefined,
      maxIters,
      overrides: args.overrides,
      engine,
      quiet: !!args.options.quiet,
      onRunDir: tellLauncher,
    });
    // One answer per run: data-parallel ranks other than 0 print nothing.
    if (!result.rank) process.stdout.write(args.options.json ? JSON.stringify(result, null, 2) + '\n' : `${result.runDir}\n`);
    return result.status === 'finished' ? 0 : result.status === 'stopped' ? 130 : 1;
  },
};

/** `argv` without `--name value` / `--name=value` (before `--`: after it every word is an argument). */
function withoutOption(argv: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return [...out, ...argv.slice(i)];
    if (argv[i] === `--${name}`) i++;
    else if (!argv[i].startsWith(`--${name}=`)) out.push(argv[i]);
  }
  return out;
}

/** `argv` with an option added before `--` (after it, `cvw train -- cfg.yaml --work-dir d` would take both for config files). */
function withOption(argv: string[], ...option: string[]): string[] {
  const end = argv.indexOf('--');
  return end < 0 ? [...argv, ...option] : [...argv.slice(0, end), ...option, ...argv.slice(end)];
}
