/**
 * torchvision's ResNet (`torchvision.models.resnet18/34/50/101/152`) and timm's plain ResNets
 * (`resnet18/34/50/101/152.*`, same names: conv1, bn1, layer1-4, fc) to the toolkit's ResNet with the
 * imagenet stem. The deep-stem timm variants (resnet50d, ...) have other names and are not mapped.
 */
import { NUM_BATCHES_TRACKED, prefixRules, type Detected, type WeightMap } from './types';
import type { WeightTensor } from '../tensor';

const rules = prefixRules([
  ['conv1.weight', 'backbone.stem.0.conv.weight'],
  ['bn1.*', 'backbone.stem.0.bn.*'],
  ['layer*', 'backbone.layer*'],
  ['fc.*', 'head.fc.*'],
]);

const DEPTHS: Array<[number, 'basic' | 'bottleneck', string]> = [
  [18, 'basic', '2,2,2,2'],
  [34, 'basic', '3,4,6,3'],
  [50, 'bottleneck', '3,4,6,3'],
  [101, 'bottleneck', '3,4,23,3'],
  [152, 'bottleneck', '3,8,36,3'],
];

function detect(tensors: Map<string, WeightTensor>): Detected | undefined {
  const conv1 = tensors.get('conv1.weight');
  if (!conv1 || conv1.shape.length !== 4 || !tensors.has('layer1.0.conv1.weight')) return undefined;
  const blocks = [1, 2, 3, 4].map((s) => {
    let n = 0;
    while (tensors.has(`layer${s}.${n}.conv1.weight`)) n++;
    return n;
  });
  const block = tensors.has('layer1.0.conv3.weight') ? 'bottleneck' : 'basic';
  const depth = DEPTHS.find(([, b, counts]) => b === block && counts === blocks.join(','))?.[0];
  const fc = tensors.get('fc.weight');
  // torchvision's wide_resnet50_2 and resnext50_32x4d have these names too: their first 3x3 is wider
  // than the stem (2x), and ResNeXt's is grouped ([128, 4, 3, 3]: 32 groups of 4 channels).
  const inner = tensors.get('layer1.0.conv2.weight');
  const groups = inner?.shape.length === 4 ? inner.shape[0] / inner.shape[1] : 1;
  const widen = inner?.shape.length === 4 ? inner.shape[0] / conv1.shape[0] : 1;
  const name = groups !== 1 ? `ResNeXt-${depth ?? '?'} ${groups}x${inner!.shape[1]}d` : widen !== 1 ? `Wide ResNet-${depth ?? '?'}-${widen}` : `ResNet-${depth ?? `? (${block} blocks ${blocks.join('/')})`}`;
  const detected: Detected = {
    variant: `${name} (torchvision/timm names)`,
    backbone: { type: 'ResNet', depth: depth ?? 0, stem: conv1.shape[2] === 7 ? 'imagenet' : 'cifar', in_channels: conv1.shape[1], base_width: conv1.shape[0] },
    numClasses: fc?.shape[0],
  };
  if (groups !== 1 || widen !== 1) detected.unsupported = `its blocks' 3x3 convolutions are ${groups !== 1 ? `grouped (${groups} groups)` : `${widen}x as wide as the stem`}; the toolkit's ResNet has plain blocks (their width that of the stage, one group)`;
  else if (!depth) detected.unsupported = "the toolkit's ResNet has depths 18, 34, 50, 101 and 152";
  else if (conv1.shape[2] !== 7) detected.unsupported = `its stem convolution is ${conv1.shape[2]}x${conv1.shape[3]}; torchvision/timm ResNets have the 7x7 imagenet stem`;
  return detected;
}

export const resnetMap: WeightMap = {
  backbone: 'ResNet',
  formats: ['torchvision', 'timm'],
  detect,
  toToolkit: (name) => (NUM_BATCHES_TRACKED.test(name) ? null : rules.toToolkit(name)),
  toForeign: rules.toForeign,
  exportProblem: (b) => ((b.stem ?? 'imagenet') !== 'imagenet' ? `its ResNet has stem: ${String(b.stem)}; torchvision and timm ResNets have the imagenet stem (7x7 conv + max-pool)` : undefined),
};
