/** `cvw benchmark knn|linear <run or checkpoint>`: measure frozen features (src/eval/benchmark.ts). */
import { benchmarkKnn, benchmarkLinear, type BenchmarkOptions, type BenchmarkResult } from '../../eval/benchmark';
import { BACKENDS, type EngineConfig } from '../../engine/configSection';
import { numberOption as num, type CommandSpec, type OptionSpec, type ParsedArgs } from '../args';

const COMMON: OptionSpec[] = [
  { name: 'data', type: 'string', valueName: 'config', description: 'Config whose data.train (memory bank / probe training set) and data.val (test set) to use, e.g. configs/benchmarks/fashion_mnist.yaml (default: the run\'s own data)' },
  { name: 'out', type: 'string', valueName: 'dir', description: 'Folder for the results (default: <run>/benchmarks)' },
  { name: 'no-ema', type: 'boolean', description: 'Use the raw weights even when the checkpoint holds EMA weights' },
  { name: 'no-cache', type: 'boolean', description: 'Recompute the features even when <run>/benchmarks/features has them' },
  { name: 'train-limit', type: 'number', valueName: 'n', description: 'Use only the first n images of the training set (quick runs, slow encoders)', range: { integer: true, min: 1 } },
  { name: 'test-limit', type: 'number', valueName: 'n', description: 'Use only the first n images of the test set', range: { integer: true, min: 1 } },
  { name: 'pool', type: 'number', valueName: 'n', description: 'Pool the last feature map to an n x n grid (OpenSelfSup\'s MultiPooling; 2 gives 4x the channels) instead of the global average pool', default: 1, range: { integer: true, min: 1 } },
  { name: 'backend', type: 'string', description: 'Engine backend (overrides engine.backend)', choices: BACKENDS },
  { name: 'json', type: 'boolean', description: 'Print the result as JSON on stdout' },
];

const SOURCE = [{ name: 'run', description: 'A run directory (its best, else latest checkpoint) or a checkpoint file' }];

function commonOptions(args: ParsedArgs): BenchmarkOptions {
  const backend = args.options.backend as EngineConfig['backend'] | undefined;
  const engine: Partial<EngineConfig> = backend ? { backend } : {};
  return {
    data: args.options.data as string | undefined,
    outDir: args.options.out as string | undefined,
    noEma: !!args.options['no-ema'],
    noCache: !!args.options['no-cache'],
    trainLimit: num(args, 'train-limit'),
    testLimit: num(args, 'test-limit'),
    pool: num(args, 'pool'),
    overrides: args.overrides,
    engine,
    log: (m) => process.stderr.write(m + '\n'),
  };
}

function print(args: ParsedArgs, r: BenchmarkResult): number {
  if (args.options.json) process.stdout.write(JSON.stringify({ file: r.file, metrics: r.metrics }, null, 2) + '\n');
  else {
    for (const [k, v] of Object.entries(r.metrics)) process.stdout.write(`${k}\t${v.toFixed(4)}\n`);
    process.stdout.write(`${r.file}\n`);
  }
  return 0;
}

export const benchmarkKnnCommand: CommandSpec = {
  name: 'benchmark knn',
  summary: 'Weighted kNN accuracy of frozen features (k=200, T=0.1 as lightly reports): training features as the memory bank, test features as queries; writes <run>/benchmarks/knn.json and a metrics.jsonl line',
  positionals: SOURCE,
  options: [
    { name: 'k', type: 'number', description: 'Neighbours per query', default: 200, range: { integer: true, min: 1 } },
    { name: 'temperature', type: 'number', description: 'Temperature of the neighbour weights exp(similarity / T)', default: 0.1, range: { above: 0 } },
    ...COMMON,
  ],
  overrides: true,
  details: 'Config overrides (--data.train.source.root DIR, --data.val.batch_size 512) apply to the data config.',
  async run(args) {
    const r = await benchmarkKnn(args.positionals[0], { ...commonOptions(args), k: num(args, 'k'), temperature: num(args, 'temperature') });
    return print(args, r);
  },
};

export const benchmarkLinearCommand: CommandSpec = {
  name: 'benchmark linear',
  summary: 'Linear probe: a linear classifier trained on frozen (standardised) training features, measured on the test set; writes <run>/benchmarks/linear.json and a metrics.jsonl line',
  positionals: SOURCE,
  options: [
    { name: 'epochs', type: 'number', description: 'Epochs of SGD over the training features', default: 50, range: { integer: true, min: 1 } },
    { name: 'lr', type: 'number', description: 'Learning rate (Nesterov SGD, cosine to 0)', default: 0.1, range: { above: 0 } },
    { name: 'batch-size', type: 'number', description: 'Features per step', default: 256, range: { integer: true, min: 1 } },
    { name: 'weight-decay', type: 'number', description: 'L2 weight decay of the classifier', default: 0, range: { min: 0 } },
    { name: 'seed', type: 'number', description: 'Seed of the classifier\'s initialisation and of the order of its batches (probes with other seeds show the spread of the result)', default: 0, range: { integer: true, min: 0 } },
    ...COMMON,
  ],
  overrides: true,
  details: 'Config overrides (--data.train.source.root DIR) apply to the data config.',
  async run(args) {
    const r = await benchmarkLinear(args.positionals[0], {
      ...commonOptions(args),
      epochs: num(args, 'epochs'),
      lr: num(args, 'lr'),
      batchSize: num(args, 'batch-size'),
      weightDecay: num(args, 'weight-decay'),
      seed: num(args, 'seed'),
    });
    return print(args, r);
  },
};
