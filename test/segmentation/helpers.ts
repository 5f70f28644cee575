/** A tiny, short run of the committed segmentation sample config (seconds): for tests of what reads a run. */
import * as path from 'node:path';
import '../../src/builtins';
import { train, type TrainResult } from '../../src/train/train';
import { ROOT } from '../export/helpers';

const o = (key: string, value: string) => ({ key, value, arg: `--${key}` });

/** One epoch of fcn_resnet18_shapes_sample.yaml at base width 8, evaluated once (so its best checkpoint is its last). */
export async function trainSampleRun(workDir: string): Promise<TrainResult> {
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    return await train(path.join(ROOT, 'configs/segmentation/fcn_resnet18_shapes_sample.yaml'), {
      workDir,
      quiet: true,
      // Small and short: the tests check the plumbing, BENCHMARKS.md the quality.
      overrides: [o('model.backbone.base_width', '8'), o('runner.max_epochs', '1'), o('eval_pipelines.0.interval', '1'), o('data.workers', '0')],
    });
  } finally {
    process.chdir(cwd);
  }
}
