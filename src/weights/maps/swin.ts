/**
 * Swin Transformers in three namings, all to the toolkit's SwinTransformer (whose names are the
 * official code's: `layers.<stage>.blocks.<block>`, patch merging as `layers.<stage>.downsample`
 * at the end of a stage).
 *
 * - torchvision (`swin_t/s/b`) numbers everything through `features`: 0 the patch embedding (conv,
 *   then LayerNorm as `0.2`), odd indices the stages' blocks, even ones the patch merging after
 *   each stage but the last.
 * - timm (0.9 and later: `swin_tiny_patch4_window7_224.ms_in1k`, ...) moved patch merging to the
 *   start of the next stage (`layers.<stage + 1>.downsample`) and the classifier to `head.fc`.
 * - the official code (microsoft/Swin-Transformer, and timm before 0.9) has the toolkit's names and
 *   `head`; its checkpoints also hold the shifted blocks' attention masks (`attn_mask`), constants
 *   of one input resolution, dropped here.
 *
 * The relative position index is a constant of the window size: dropped on the way in, rebuilt on
 * the way out for torchvision (PyTorch's strict loading wants it; timm's is not persistent).
 */
import { relativePositionIndex } from '../../models/backbones/swinTransformer';
import type { WeightTensor } from '../tensor';
import { prefixRules, type Detected, type WeightMap } from './types';

/** Where a naming keeps the tensors detection reads. */
interface SwinNames {
  format: string;
  patch: string;
  /** Prefix of block `b` of stage `s`. */
  block: (s: number, b: number) => string;
  fc1: string;
  head: string;
}

const BUFFERS = /\.attn\.relative_position_index$|\.attn_mask$/;

function detectSwin(tensors: Map<string, WeightTensor>, names: SwinNames): Detected | undefined {
  const patch = tensors.get(names.patch);
  const table = tensors.get(`${names.block(0, 0)}attn.relative_position_bias_table`);
  if (!patch || patch.shape.length !== 4 || !table) return undefined;
  const depths: number[] = [];
  const heads: number[] = [];
  for (let s = 0; tensors.has(`${names.block(s, 0)}norm1.weight`); s++) {
    let n = 0;
    while (tensors.has(`${names.block(s, n)}norm1.weight`)) n++;
    depths.push(n);
    heads.push(tensors.get(`${names.block(s, 0)}attn.relative_position_bias_table`)!.shape[1]);
  }
  const window = (Math.sqrt(table.shape[0]) + 1) / 2;
  const fc1 = tensors.get(`${names.block(0, 0)}${names.fc1}`);
  return {
    variant: `Swin ${patch.shape[0]}-wide, depths ${depths.join('-')}, window ${window} (${names.format} names)`,
    backbone: {
      type: 'SwinTransformer',
      arch: 'custom',
      embed_dim: patch.shape[0],
      depths,
      num_heads: heads,
      patch_size: patch.shape[2],
      in_channels: patch.shape[1],
      window_size: window,
      mlp_ratio: fc1 ? fc1.shape[0] / patch.shape[0] : 4,
      qkv_bias: tensors.has(`${names.block(0, 0)}attn.qkv.bias`),
    },
    numClasses: tensors.get(`${names.head}.weight`)?.shape[0],
  };
}

/** The bias table is [positions, heads] in every naming: not a linear layer's weight. */
const layout: WeightMap['layout'] = (name) => (name.endsWith('.relative_position_bias_table') ? 'same' : undefined);

function singleOutput(b: Record<string, unknown>, what: string): string | undefined {
  const last = ((b.depths as number[] | undefined)?.length ?? 4) - 1;
  return b.out_indices && JSON.stringify(b.out_indices) !== JSON.stringify([last]) ? `its SwinTransformer returns several stages (out_indices); ${what} has one final norm` : undefined;
}

// torchvision -----------------------------------------------------------------------------------

const tvTop = prefixRules([
  ['features.0.0.*', 'backbone.patch_embed.proj.*'],
  ['features.0.2.*', 'backbone.patch_embed.norm.*'],
  ['norm.*', 'backbone.norm.*'],
  ['head.*', 'head.fc.*'],
]);
const tvBlock = prefixRules([
  ['mlp.0.*', 'mlp.fc1.*'],
  ['mlp.3.*', 'mlp.fc2.*'],
  ['*', '*'],
]);

function tvToToolkit(name: string): string | null | undefined {
  if (BUFFERS.test(name)) return null;
  const m = /^features\.(\d+)\.(.*)$/.exec(name);
  if (!m || m[1] === '0') return tvTop.toToolkit(name);
  const k = Number(m[1]);
  if (k % 2 === 1) {
    const b = /^(\d+)\.(.*)$/.exec(m[2]);
    const part = b && tvBlock.toToolkit(b[2]);
    return b && part ? `backbone.layers.${(k - 1) / 2}.blocks.${b[1]}.${part}` : undefined;
  }
  return `backbone.layers.${k / 2 - 1}.downsample.${m[2]}`;
}

function tvToForeign(name: string): string | undefined {
  const b = /^backbone\.layers\.(\d+)\.blocks\.(\d+)\.(.*)$/.exec(name);
  if (b) return `features.${2 * Number(b[1]) + 1}.${b[2]}.${tvBlock.toForeign(b[3])}`;
  const d = /^backbone\.layers\.(\d+)\.downsample\.(.*)$/.exec(name);
  if (d) return `features.${2 * Number(d[1]) + 2}.${d[2]}`;
  return tvTop.toForeign(name);
}

export const swinTorchvisionMap: WeightMap = {
  backbone: 'SwinTransformer',
  formats: ['torchvision'],
  detect: (tensors) => detectSwin(tensors, { format: 'torchvision', patch: 'features.0.0.weight', block: (s, b) => `features.${2 * s + 1}.${b}.`, fc1: 'mlp.0.weight', head: 'head' }),
  toToolkit: tvToToolkit,
  toForeign: tvToForeign,
  layout,
  exportExtras(foreign) {
    for (const [name, t] of [...foreign]) {
      if (!name.endsWith('.attn.relative_position_bias_table')) continue;
      const window = (Math.sqrt(t.shape[0]) + 1) / 2;
      const index = relativePositionIndex(window, window);
      foreign.set(name.replace(/relative_position_bias_table$/, 'relative_position_index'), { shape: [index.length], values: index, stored: 'I64' });
    }
  },
  exportProblem: (b) => singleOutput(b, 'torchvision'),
};

// timm and the official code ----------------------------------------------------------------------

/**
 * timm's and the official names differ from the toolkit's only in where patch merging sits
 * (`shift`: 1 when stage s + 1 holds the merging that ends stage s) and what the classifier is called.
 */
function layersMap(format: 'timm' | 'official', shift: 0 | 1, head: string): WeightMap {
  const top = prefixRules([
    ['patch_embed.*', 'backbone.patch_embed.*'],
    ['layers.*', 'backbone.layers.*'],
    ['norm.*', 'backbone.norm.*'],
    [`${head}.*`, 'head.fc.*'],
  ]);
  const moveDownsample = (name: string, by: number) => name.replace(/^((?:backbone\.)?layers\.)(\d+)(\.downsample\.)/, (_, a: string, s: string, b: string) => `${a}${Number(s) + by}${b}`);
  const names: SwinNames = { format, patch: 'patch_embed.proj.weight', block: (s, b) => `layers.${s}.blocks.${b}.`, fc1: 'mlp.fc1.weight', head };
  return {
    backbone: 'SwinTransformer',
    formats: [format],
    detect(tensors) {
      // The other naming has the same blocks: tell them apart by the classifier, else by the first merging.
      const other = format === 'timm' ? 'head.weight' : 'head.fc.weight';
      if (tensors.has(other) || (!tensors.has(`${head}.weight`) && tensors.has(`layers.${1 - shift}.downsample.reduction.weight`) && !tensors.has(`layers.${shift}.downsample.reduction.weight`))) return undefined;
      return detectSwin(tensors, names);
    },
    toToolkit(name) {
      if (BUFFERS.test(name)) return null;
      const t = top.toToolkit(name);
      return t && moveDownsample(t, -shift);
    },
    toForeign(name) {
      const f = top.toForeign(name);
      return f && moveDownsample(f, shift);
    },
    layout,
    exportProblem: (b) =>
      format === 'official' ? 'official Swin checkpoints hold attention masks made for one input resolution; export with --format timm (timm converts official checkpoints the other way itself)' : singleOutput(b, 'timm'),
  };
}

export const swinTimmMap = layersMap('timm', 1, 'head.fc');
export const swinOfficialMap = layersMap('official', 0, 'head');
