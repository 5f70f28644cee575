/** ResNet-101 and -152 (for their torchvision/timm weights): the reference parameter counts and detection by block counts. */
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/tf';
import { ResNet, resnetParams } from '../../src/models/backbones/resnet';
import { resnetMap } from '../../src/weights/maps/resnet';
import type { WeightTensor } from '../../src/weights/tensor';

beforeAll(async () => {
  await useCpu();
});

/** A state dict's shapes (no values needed to detect) from a toolkit ResNet, in torchvision names. */
function torchvisionShapes(depth: 101 | 152): Map<string, WeightTensor> {
  const net = new ResNet(resnetParams.parse({ depth, base_width: 8 }));
  const out = new Map<string, WeightTensor>();
  for (const [k, v] of net.stateDict()) out.set(resnetMap.toForeign(`backbone.${k}`)!, { shape: v.shape.length === 4 ? [v.shape[3], v.shape[2], v.shape[0], v.shape[1]] : v.shape, values: new Float32Array(0), stored: 'F32' });
  net.dispose();
  return out;
}

describe('ResNet-101/152', () => {
  it('have torchvision resnet101\'s parameter count (44,549,160 with its 1000-class classifier)', () => {
    const net = new ResNet(resnetParams.parse({ depth: 101 }));
    expect(net.parameterCount() + 2048 * 1000 + 1000).toBe(44549160);
    net.dispose();
  });

  it('are recognised from the block counts of their state dicts', () => {
    for (const depth of [101, 152] as const) {
      const detected = resnetMap.detect(torchvisionShapes(depth))!;
      expect(detected.variant).toBe(`ResNet-${depth} (torchvision/timm names)`);
      expect(detected.backbone).toMatchObject({ type: 'ResNet', depth, base_width: 8, stem: 'imagenet' });
      expect(detected.unsupported).toBeUndefined();
    }
  });
});
