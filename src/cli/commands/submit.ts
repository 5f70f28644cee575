import * as fs from 'node:fs';
import { submit } from '../../distributed/slurm';
import { BACKENDS } from '../../engine/configSection';
import { UsageError, type CommandSpec } from '../args';

export const submitCommand: CommandSpec = {
  name: 'submit',
  summary: 'Submit a data-parallel training run to Slurm (sbatch); the run shows as pending, then runs like any other',
  positionals: [{ name: 'config', description: 'Config file (YAML or JSON)' }],
  options: [
    { name: 'nodes', type: 'number', description: 'Nodes for the job', default: 1, range: { integer: true, min: 1 } },
    { name: 'ntasks-per-node', type: 'number', description: 'Ranks (processes) per node', default: 1, range: { integer: true, min: 1 } },
    { name: 'gpus-per-task', type: 'number', description: 'GPUs per rank', range: { integer: true, min: 1 } },
    { name: 'partition', type: 'string', description: 'Slurm partition' },
    { name: 'time', type: 'string', description: 'Time limit (Slurm format, e.g. 2:00:00)' },
    { name: 'work-dir', type: 'string', valueName: 'dir', description: 'Run directory (default: work_dirs/<config stem>/<run id>); must be on a file system every node sees' },
    { name: 'max-iters', type: 'number', description: 'Stop after this many iterations (passed to cvw train)', range: { integer: true, min: 1 } },
    { name: 'backend', type: 'string', description: 'Engine backend (passed to cvw train)', choices: BACKENDS },
    { name: 'dry-run', type: 'boolean', description: 'Write the sbatch script into the run directory and print it; submit nothing' },
    { name: 'json', type: 'boolean', description: 'Print the result (run directory, script, job id) as JSON' },
  ],
  overrides: true,
  details:
    'The job runs `srun --mpi=pmix cvw train` on every rank (each with the configured batch size: effective batch = batch_size x ranks). ' +
    'Stop it with `scancel <job id>`: the ranks write a last checkpoint (status stopped); resubmitting or `cvw train --resume <run directory>` continues it.',
  async run(args) {
    const config = args.positionals[0];
    if (!config) throw new UsageError('give the config file to train', 'submit');
    const maxIters = args.options['max-iters'] as number | undefined;
    const backend = args.options.backend as string | undefined;
    const result = submit({
      config,
      nodes: args.options.nodes as number,
      ntasksPerNode: args.options['ntasks-per-node'] as number,
      gpusPerTask: args.options['gpus-per-task'] as number | undefined,
      partition: args.options.partition as string | undefined,
      time: args.options.time as string | undefined,
      workDir: args.options['work-dir'] as string | undefined,
      overrides: args.overrides,
      trainArgs: ['-q', ...(maxIters ? ['--max-iters', String(maxIters)] : []), ...(backend ? ['--backend', backend] : [])],
      dryRun: !!args.options['dry-run'],
    });
    if (args.options.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else if (args.options['dry-run']) process.stdout.write(fs.readFileSync(result.script, 'utf8'));
    else process.stdout.write(`${result.runDir}\nSlurm job ${result.jobId}\n`);
    return 0;
  },
};
