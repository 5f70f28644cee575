/**
 * torchvision's `mobilenet_v2` to the toolkit's MobileNetV2. torchvision numbers the blocks
 * through one `features` list (0: stem, 1-17: inverted residuals, 18: last 1x1 conv) and the
 * parts of a block through `conv` (`conv.0.0` conv, `conv.0.1` norm, ..., the projection as bare
 * `conv.N`/`conv.N+1`); the toolkit groups blocks by stage (layer1-7) and names every part
 * `conv.<i>.conv` / `conv.<i>.bn`.
 */
import { makeDivisible } from '../../models/backbones/mobilenetV2';
import { NUM_BATCHES_TRACKED, type Detected, type WeightMap } from './types';
import type { WeightTensor } from '../tensor';

/** Blocks and output channels per stage (Table 2 of the paper), as in src/models/backbones/mobilenetV2.ts. */
const REPEATS = [1, 2, 3, 4, 3, 3, 1];
const CHANNELS = [16, 24, 32, 64, 96, 160, 320];
/** torchvision block index (1-17) -> [stage 1-7, block in stage]. */
const BLOCKS: Array<[number, number]> = REPEATS.flatMap((n, s) => Array.from({ length: n }, (_, b) => [s + 1, b] as [number, number]));
const LAST = BLOCKS.length + 1;

/** Within a block: torchvision part -> toolkit part. The first block has no expansion conv. */
function blockParts(expand: boolean): Array<[string, string]> {
  const named = expand ? 3 : 2;
  const parts: Array<[string, string]> = [];
  for (let i = 0; i < named - 1; i++) parts.push([`conv.${i}.0.`, `conv.${i}.conv.`], [`conv.${i}.1.`, `conv.${i}.bn.`]);
  parts.push([`conv.${named - 1}.`, `conv.${named - 1}.conv.`], [`conv.${named}.`, `conv.${named - 1}.bn.`]);
  return parts;
}

function toToolkit(name: string): string | null | undefined {
  if (NUM_BATCHES_TRACKED.test(name)) return null;
  if (name.startsWith('classifier.1.')) return `head.fc.${name.slice('classifier.1.'.length)}`;
  const m = /^features\.(\d+)\.(.*)$/.exec(name);
  if (!m) return undefined;
  const k = Number(m[1]);
  const rest = m[2];
  const unit = (prefix: string) => (rest.startsWith('0.') ? `${prefix}.conv.${rest.slice(2)}` : rest.startsWith('1.') ? `${prefix}.bn.${rest.slice(2)}` : undefined);
  if (k === 0) return unit('backbone.stem');
  if (k === LAST) return unit('backbone.conv_last');
  const block = BLOCKS[k - 1];
  if (!block) return undefined;
  for (const [a, b] of blockParts(k !== 1)) if (rest.startsWith(a)) return `backbone.layer${block[0]}.${block[1]}.${b}${rest.slice(a.length)}`;
  return undefined;
}

function toForeign(name: string): string | undefined {
  if (name.startsWith('head.fc.')) return `classifier.1.${name.slice('head.fc.'.length)}`;
  const unit = (k: number, rest: string) => (rest.startsWith('conv.') ? `features.${k}.0.${rest.slice(5)}` : rest.startsWith('bn.') ? `features.${k}.1.${rest.slice(3)}` : undefined);
  if (name.startsWith('backbone.stem.')) return unit(0, name.slice('backbone.stem.'.length));
  if (name.startsWith('backbone.conv_last.')) return unit(LAST, name.slice('backbone.conv_last.'.length));
  const m = /^backbone\.layer(\d)\.(\d+)\.(.*)$/.exec(name);
  if (!m) return undefined;
  const k = BLOCKS.findIndex(([s, b]) => s === Number(m[1]) && b === Number(m[2])) + 1;
  if (k === 0) return undefined;
  for (const [a, b] of blockParts(k !== 1)) if (m[3].startsWith(b)) return `features.${k}.${a}${m[3].slice(b.length)}`;
  return undefined;
}

function detect(tensors: Map<string, WeightTensor>): Detected | undefined {
  const stem = tensors.get('features.0.0.weight');
  const last = tensors.get(`features.${LAST}.0.weight`);
  if (!stem || !last || !tensors.has('features.1.conv.0.0.weight')) return undefined;
  // The width multiplier from every stage's channels: the stem alone does not tell 0.35 from 0.5
  // (makeDivisible gives 16 for both; their second stages have 8 and 16 channels).
  const stages = CHANNELS.map((_, s) => {
    const k = BLOCKS.findIndex(([stage, b]) => stage === s + 1 && b === 0) + 1;
    return tensors.get(`features.${k}.conv.${k === 1 ? 1 : 2}.weight`)?.shape[0];
  });
  const fits = (w: number) => makeDivisible(32 * w) === stem.shape[0] && makeDivisible(1280 * Math.max(1, w)) === last.shape[0] && stages.every((c, s) => c === makeDivisible(CHANNELS[s] * w));
  const width = [0.35, 0.5, 0.75, 1, 1.3, 1.4].find(fits) ?? 1;
  return {
    variant: `MobileNetV2 width ${width} (torchvision names)`,
    backbone: { type: 'MobileNetV2', width_mult: width, in_channels: stem.shape[1], stem_stride: 2 },
    numClasses: tensors.get('classifier.1.weight')?.shape[0],
  };
}

export const mobilenetV2Map: WeightMap = {
  backbone: 'MobileNetV2',
  formats: ['torchvision'],
  detect,
  toToolkit,
  toForeign,
  // The 3x3 of every block is depthwise: in torchvision conv.0.0 of block 1, conv.1.0 of the others.
  layout: (name) => (/^backbone\.layer\d\.\d+\.conv\.\d\.conv\.weight$/.test(name) && isDepthwise(name) ? 'dwconv' : undefined),
  exportProblem: (b) => ((b.stem_stride ?? 2) !== 2 ? `its MobileNetV2 has stem_stride ${String(b.stem_stride)}; torchvision's has 2` : undefined),
};

function isDepthwise(name: string): boolean {
  const m = /^backbone\.layer(\d)\.(\d+)\.conv\.(\d)\./.exec(name)!;
  const first = m[1] === '1' && m[2] === '0';
  return Number(m[3]) === (first ? 0 : 1);
}
