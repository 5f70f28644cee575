import * as path from 'node:path';

const images = path.resolve(__dirname, '../../data/images-sample');

/**
 * A config that trains in seconds in a real `cvw` process: a narrow ResNet-18 (base width 4) on
 * 16x16 crops of the 12 committed sample images, batches of 4 (3 iterations an epoch).
 * `runner` is the runner mapping's inside; `val` adds the same images as a val split with top-1
 * accuracy; `extra` is appended as top-level YAML.
 */
export function tinyClassificationYaml(o: { seed: number; runner: string; backend?: string; val?: boolean; extra?: string }): string {
  const val = `
  val:
    type: ClsDataset
    batch_size: 6
    source: { type: ImageFolder, root: ${images} }
    pipeline: [{ type: Resize, size: 16 }, { type: CenterCrop, size: 16 }, { type: ToTensor }]
eval_pipelines: [{ split: val, evaluators: [{ type: ClsEvaluator }] }]`;
  return `
engine: { backend: ${o.backend ?? 'wasm'} }
seed: ${o.seed}
model:
  type: Classification
  backbone: { type: ResNet, depth: 18, stem: cifar, base_width: 4 }
  head: { type: ClsHead }
data:
  workers: 0
  train:
    type: ClsDataset
    batch_size: 4
    source: { type: ImageFolder, root: ${images} }
    pipeline: [{ type: RandomResizedCrop, size: 16 }, { type: ToTensor }]${o.val ? val : ''}
optimizer: { type: SGD, lr: 0.02 }
runner: { ${o.runner} }
${o.extra ?? ''}`;
}
