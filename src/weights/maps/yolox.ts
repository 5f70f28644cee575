/**
 * Megvii's YOLOX checkpoints (`yolox_s.pth`, ...; the official repository's module names) to the
 * toolkit's YOLOX. The reference nests the backbone inside the neck (`YOLOPAFPN.backbone`), so its
 * CSPDarknet is `backbone.backbone.*` and the neck's layers are `backbone.lateral_conv0`, ...; the
 * head's names (`head.stems.0`, `head.cls_convs.0.1`, ...) and every block's are the toolkit's.
 * A CSPDarknet backbone alone (`model.pretrained` of a classifier) takes `backbone.backbone.*`;
 * `cvw weights export --format yolox` writes a YOLOX run back in these names (with the batch-norm
 * counters), for the reference's `load_state_dict(strict=True)`.
 */
import { YOLOX_SIZES, YOLOX_SIZE_NAMES } from '../../models/backbones/cspDarknet';
import type { WeightTensor } from '../tensor';
import { NUM_BATCHES_TRACKED, prefixRules, type Detected, type WeightMap } from './types';

const rules = prefixRules([
  ['backbone.backbone.*', 'backbone.*'],
  ['backbone.*', 'neck.*'],
  ['head.*', 'head.*'],
]);

const DARKNET = 'backbone.backbone.';

function count(tensors: Map<string, WeightTensor>, at: (n: number) => string): number {
  let n = 0;
  while (tensors.has(at(n))) n++;
  return n;
}

function detect(tensors: Map<string, WeightTensor>): Detected | undefined {
  const stem = tensors.get(`${DARKNET}stem.conv.conv.weight`);
  if (!stem || stem.shape.length !== 4 || !tensors.has('backbone.lateral_conv0.conv.weight')) return undefined;
  const base = stem.shape[0];
  const inChannels = stem.shape[1] / 4;
  const depthwise = tensors.has(`${DARKNET}dark2.0.dconv.conv.weight`);
  const blocks = count(tensors, (n) => `${DARKNET}dark2.1.m.${n}.conv1.conv.weight`);
  const neckBlocks = count(tensors, (n) => `backbone.C3_p4.m.${n}.conv1.conv.weight`);
  const feat = tensors.get('head.stems.0.conv.weight')?.shape[0];
  const numClasses = tensors.get('head.cls_preds.0.weight')?.shape[0];
  // A published size when every count and width agrees with its factors (as the reference rounds them).
  const size = YOLOX_SIZE_NAMES.find((s) => {
    const a = YOLOX_SIZES[s];
    return Math.trunc(a.width * 64) === base && Math.max(Math.round(a.depth * 3), 1) === blocks && Math.round(3 * a.depth) === neckBlocks && a.depthwise === depthwise && (feat === undefined || Math.trunc(256 * a.width) === feat);
  });
  const factors = { deepen_factor: neckBlocks / 3, widen_factor: base / 64, depthwise };
  const backbone = { type: 'CSPDarknet', ...(size ? { arch: size } : factors), in_channels: inChannels };
  const head = { type: 'YOLOXHead', ...(numClasses ? { num_classes: numClasses } : {}), ...(size || feat === undefined ? {} : { feat_channels: feat, depthwise }) };
  const model = size
    ? { type: 'YOLOX', size, backbone: { type: 'CSPDarknet', in_channels: inChannels }, head }
    : { type: 'YOLOX', backbone, neck: { type: 'YOLOPAFPN', deepen_factor: factors.deepen_factor, depthwise }, head };
  const detected: Detected = {
    variant: `YOLOX${size ? `-${size}` : ` (depth ${factors.deepen_factor.toFixed(2)}, width ${factors.widen_factor}${depthwise ? ', depthwise' : ''})`} (official YOLOX names)`,
    backbone,
    numClasses,
    model,
  };
  if (blocks !== Math.max(neckBlocks, 1)) detected.unsupported = `its backbone has ${blocks} blocks per CSP layer of dark2 but its neck ${neckBlocks}; the toolkit derives both from one depth factor`;
  return detected;
}

export const yoloxMap: WeightMap = {
  backbone: 'CSPDarknet',
  formats: ['yolox'],
  model: 'YOLOX',
  detect,
  toToolkit: (name) => (NUM_BATCHES_TRACKED.test(name) ? null : rules.toToolkit(name)),
  toForeign: rules.toForeign,
  // The depthwise 3x3 of YOLOX-nano's DWConv blocks.
  layout: (name) => (name.endsWith('.dconv.conv.weight') ? 'dwconv' : undefined),
};
