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

const fashionMnist = path.resolve(__dirname, '../../data/fashion-mnist-sample');

/**
 * A one-block ViT (no batch norm) on the committed Fashion-MNIST sample, wasm, one thread: the
 * data-parallel and Slurm tests' model, whose ranks must agree exactly. `optimizer` is the SGD
 * mapping's inside after the type.
 */
export function tinyVitFashionMnistYaml(o: { seed: number; batch: number; runner: string; optimizer: string }): string {
  return `
engine: { backend: wasm, threads: 1 }
seed: ${o.seed}
model:
  type: Classification
  backbone: { type: VisionTransformer, arch: custom, img_size: 28, patch_size: 7, embed_dim: 16, depth: 1, num_heads: 2, drop_path_rate: 0 }
  head: { type: ClsHead }
data:
  workers: 0
  train:
    type: ClsDataset
    batch_size: ${o.batch}
    source: { type: FashionMNIST, root: ${fashionMnist} }
    pipeline: [{ type: ToTensor }]
optimizer: { type: SGD, ${o.optimizer} }
runner: { ${o.runner} }
`;
}
