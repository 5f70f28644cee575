// The workspace of the runs e2e tests: tiny configs that train for a few iterations on the
// committed Fashion-MNIST sample (no native image decoder needed, so the extension's bundled
// `cvw` runs them as installed), a custom hook that throws, and a finished run from "yesterday".
import { join } from 'node:path';
import { REPO_ROOT } from './lib/paths.mjs';

const DATA = join(REPO_ROOT, 'data', 'fashion-mnist-sample');

function config({ maxIters, evaluate = true, extra = '' }) {
  return `# A narrow ResNet-18 on 28x28 Fashion-MNIST, ${maxIters} iterations.
engine: { backend: wasm }
seed: 1
model:
  type: Classification
  backbone: { type: ResNet, depth: 18, stem: cifar, in_channels: 1, base_width: 4 }
  head: { type: ClsHead, num_classes: 10 }
data:
  workers: 0
  train:
    type: ClsDataset
    batch_size: 16
    source: { type: FashionMNIST, root: ${DATA}, subset: train }
    pipeline: [{ type: ToTensor }]
${
  evaluate
    ? `  val:
    type: ClsDataset
    batch_size: 250
    source: { type: FashionMNIST, root: ${DATA}, subset: test }
    pipeline: [{ type: ToTensor }]
eval_pipelines:
  - split: val
    evaluators: [{ type: ClsEvaluator, topk: [1] }]
`
    : ''
}optimizer: { type: SGD, lr: 0.05, momentum: 0.9 }
runner: { max_iters: ${maxIters}, log_interval: 1 }
${extra}`;
}

/** Line 9 (1-based) throws: the crash test and the breakpoint test point there. */
export const BOOM_LINE = 9;
const BOOM_HOOK = `import { register, z } from 'cv-workbench';

class BoomHook {
  readonly name = 'BoomHook';
  readonly priority = 50;
  constructor(private readonly at: number) {}
  afterIter(runner: { iter: number }): void {
    if (runner.iter >= this.at) {
      throw new Error(\`boom at iteration \${runner.iter}\`);
    }
  }
}

register('hook', { type: 'BoomHook', description: 'Throws at an iteration', params: z.strictObject({ at: z.number().int() }), build: (p) => new BoomHook(p.at) });
`;

const OLD_RUN = 'work_dirs/tiny/20260101-120000';

export function runsWorkspace() {
  return {
    'configs/tiny.yaml': config({ maxIters: 6 }),
    'configs/long.yaml': config({ maxIters: 2000, evaluate: false }),
    'configs/boom.yaml': config({ maxIters: 6, evaluate: false, extra: 'custom_imports: [../hooks/boom_hook.ts]\nhooks: [{ type: BoomHook, at: 2 }]\n' }),
    'hooks/boom_hook.ts': BOOM_HOOK,
    [`${OLD_RUN}/run.json`]: JSON.stringify(
      {
        status: 'finished',
        pid: 1,
        hostname: 'elsewhere',
        config: '/old/configs/tiny.yaml',
        config_stem: 'tiny',
        run_id: '20260101-120000',
        command: ['cvw', 'train', 'configs/tiny.yaml'],
        cvw_version: '0.1.0',
        engine: { backend: 'wasm', engine: 'wasm', reason: 'engine.backend: wasm' },
        started: '2026-01-01T12:00:00.000Z',
        ended: '2026-01-01T12:00:42.000Z',
        epoch: 1,
        iter: 6,
        max_iters: 6,
        max_epochs: 1,
        last_loss: 2.25,
        metrics: { 'val/accuracy_top1': 0.25 },
      },
      null,
      2,
    ),
    [`${OLD_RUN}/metrics.jsonl`]: [1, 2, 3, 4, 5, 6].map((i) => JSON.stringify({ time: 1767268800 + i, epoch: 1, iter: i, split: 'train', loss: 3 - i * 0.125 })).join('\n') + '\n',
  };
}
