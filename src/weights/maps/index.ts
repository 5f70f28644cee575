/** The name maps, and which one a foreign state dict fits. */
import type { WeightTensor } from '../tensor';
import { convNeXtOfficialMap, convNeXtTimmMap, convNeXtTorchvisionMap } from './convnext';
import { mobilenetV2Map } from './mobilenetV2';
import { resnetMap } from './resnet';
import type { Detected, WeightMap } from './types';
import { swinOfficialMap, swinTimmMap, swinTorchvisionMap } from './swin';
import { vitTimmMap, vitTorchvisionMap } from './vit';
import { yoloxMap } from './yolox';

export const WEIGHT_MAPS: readonly WeightMap[] = [resnetMap, mobilenetV2Map, vitTimmMap, vitTorchvisionMap, swinTorchvisionMap, swinTimmMap, swinOfficialMap, convNeXtTorchvisionMap, convNeXtTimmMap, convNeXtOfficialMap, yoloxMap];

export function detectArchitecture(tensors: Map<string, WeightTensor>): { map: WeightMap; detected: Detected } | undefined {
  for (const map of WEIGHT_MAPS) {
    const detected = map.detect(tensors);
    if (detected) return { map, detected };
  }
  return undefined;
}

/** The maps of a toolkit backbone type (ViT has timm's and torchvision's). */
export function mapsForBackbone(type: string): WeightMap[] {
  return WEIGHT_MAPS.filter((m) => m.backbone === type);
}

export type { Detected, WeightMap } from './types';
