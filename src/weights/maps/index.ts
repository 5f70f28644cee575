/** The name maps, and which one a foreign state dict fits. */
import type { WeightTensor } from '../tensor';
import { mobilenetV2Map } from './mobilenetV2';
import { resnetMap } from './resnet';
import type { Detected, WeightMap } from './types';

export const WEIGHT_MAPS: readonly WeightMap[] = [resnetMap, mobilenetV2Map];

export function detectArchitecture(tensors: Map<string, WeightTensor>): { map: WeightMap; detected: Detected } | undefined {
  for (const map of WEIGHT_MAPS) {
    const detected = map.detect(tensors);
    if (detected) return { map, detected };
  }
  return undefined;
}

export function mapForBackbone(type: string): WeightMap | undefined {
  return WEIGHT_MAPS.find((m) => m.backbone === type);
}

export type { Detected, WeightMap } from './types';
