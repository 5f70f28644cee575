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
function torchvisionShapes(depth: 50 | 101 | 152): Map<string, WeightTensor> {
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

  it("are not taken for torchvision's wide_resnet50_2 or resnext50_32x4d, which have the same names", () => {
    // Their bottlenecks' inner width is 2x the plain one (base_width 8: 16 in stage 1), and ResNeXt's 3x3 has 32 groups.
    const variant = (groups: number) => {
      const shapes = torchvisionShapes(50);
      for (const [k, t] of shapes) {
        const m = /^layer(\d)\.\d+\.conv([123])\.weight$/.exec(k);
        if (!m) continue;
        const inner = 16 * 2 ** (Number(m[1]) - 1);
        const [o, i] = t.shape;
        t.shape = m[2] === '1' ? [inner, i, 1, 1] : m[2] === '2' ? [inner, inner / groups, 3, 3] : [o, inner, 1, 1];
      }
      return resnetMap.detect(shapes)!;
    };
    const wide = variant(1);
    expect(wide.variant).toBe('Wide ResNet-50-2 (torchvision/timm names)');
    expect(wide.unsupported).toMatch(/3x3 convolutions are 2x as wide as the stem; the toolkit's ResNet has plain blocks/);
    const next = variant(8);
    expect(next.variant).toBe('ResNeXt-50 8x2d (torchvision/timm names)');
    expect(next.unsupported).toMatch(/grouped \(8 groups\)/);
    expect(resnetMap.detect(torchvisionShapes(50))!.unsupported).toBeUndefined();
  });
});
