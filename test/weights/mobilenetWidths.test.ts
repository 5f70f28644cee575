/** MobileNetV2's width multiplier, read from the shapes of a torchvision state dict. */
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/tf';
import { MobileNetV2, mobilenetV2Params } from '../../src/models/backbones/mobilenetV2';
import { mobilenetV2Map } from '../../src/weights/maps/mobilenetV2';
import type { WeightTensor } from '../../src/weights/tensor';

beforeAll(async () => {
  await useCpu();
});

/** The shapes (no values needed to detect) of a toolkit MobileNetV2, in torchvision names and layouts. */
function torchvisionShapes(width: number): Map<string, WeightTensor> {
  const net = new MobileNetV2(mobilenetV2Params.parse({ width_mult: width }));
  const out = new Map<string, WeightTensor>();
  for (const [k, v] of net.stateDict()) {
    const name = `backbone.${k}`;
    const dw = mobilenetV2Map.layout?.(name) === 'dwconv';
    const shape = v.shape.length !== 4 ? v.shape : dw ? [v.shape[2], 1, v.shape[0], v.shape[1]] : [v.shape[3], v.shape[2], v.shape[0], v.shape[1]];
    out.set(mobilenetV2Map.toForeign(name)!, { shape, values: new Float32Array(0), stored: 'F32' });
  }
  net.dispose();
  return out;
}

describe('MobileNetV2 widths', () => {
  it('tells every width of the paper from the others (0.35 and 0.5 have the same stem)', () => {
    for (const width of [0.35, 0.5, 0.75, 1, 1.3, 1.4]) {
      expect(mobilenetV2Map.detect(torchvisionShapes(width))!.backbone, String(width)).toMatchObject({ type: 'MobileNetV2', width_mult: width });
    }
  });
});
