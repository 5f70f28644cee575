/**
 * torchvision's Swin Transformers (`swin_t/s/b`) to the toolkit's SwinTransformer. torchvision
 * numbers everything through `features`: 0 the patch embedding (conv, then LayerNorm as `0.2`),
 * odd indices the stages' blocks, even ones the patch merging after each stage but the last; the
 * toolkit (timm/official names) has `layers.<stage>.blocks.<block>` and `layers.<stage>.downsample`.
 * The relative position index is a constant of the window size: dropped on the way in, rebuilt on
 * the way out (PyTorch's strict loading wants it).
 */
import { relativePositionIndex } from '../../models/backbones/swinTransformer';
import type { WeightTensor } from '../tensor';
import { prefixRules, type Detected, type WeightMap } from './types';

const top = prefixRules([
  ['features.0.0.*', 'backbone.patch_embed.proj.*'],
  ['features.0.2.*', 'backbone.patch_embed.norm.*'],
  ['norm.*', 'backbone.norm.*'],
  ['head.*', 'head.fc.*'],
]);
const block = prefixRules([
  ['mlp.0.*', 'mlp.fc1.*'],
  ['mlp.3.*', 'mlp.fc2.*'],
  ['*', '*'],
]);
const INDEX = /\.attn\.relative_position_index$/;

function toToolkit(name: string): string | null | undefined {
  if (INDEX.test(name)) return null;
  const m = /^features\.(\d+)\.(.*)$/.exec(name);
  if (!m || m[1] === '0') return top.toToolkit(name);
  const k = Number(m[1]);
  if (k % 2 === 1) {
    const b = /^(\d+)\.(.*)$/.exec(m[2]);
    const part = b && block.toToolkit(b[2]);
    return b && part ? `backbone.layers.${(k - 1) / 2}.blocks.${b[1]}.${part}` : undefined;
  }
  return `backbone.layers.${k / 2 - 1}.downsample.${m[2]}`;
}

function toForeign(name: string): string | undefined {
  const b = /^backbone\.layers\.(\d+)\.blocks\.(\d+)\.(.*)$/.exec(name);
  if (b) return `features.${2 * Number(b[1]) + 1}.${b[2]}.${block.toForeign(b[3])}`;
  const d = /^backbone\.layers\.(\d+)\.downsample\.(.*)$/.exec(name);
  if (d) return `features.${2 * Number(d[1]) + 2}.${d[2]}`;
  return top.toForeign(name);
}

function detect(tensors: Map<string, WeightTensor>): Detected | undefined {
  const patch = tensors.get('features.0.0.weight');
  const table = tensors.get('features.1.0.attn.relative_position_bias_table');
  if (!patch || patch.shape.length !== 4 || !table) return undefined;
  const depths: number[] = [];
  const heads: number[] = [];
  for (let s = 0; tensors.has(`features.${2 * s + 1}.0.norm1.weight`); s++) {
    let n = 0;
    while (tensors.has(`features.${2 * s + 1}.${n}.norm1.weight`)) n++;
    depths.push(n);
    heads.push(tensors.get(`features.${2 * s + 1}.0.attn.relative_position_bias_table`)!.shape[1]);
  }
  const window = (Math.sqrt(table.shape[0]) + 1) / 2;
  const fc1 = tensors.get('features.1.0.mlp.0.weight');
  return {
    variant: `Swin ${patch.shape[0]}-wide, depths ${depths.join('-')}, window ${window} (torchvision names)`,
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
      qkv_bias: tensors.has('features.1.0.attn.qkv.bias'),
    },
    numClasses: tensors.get('head.weight')?.shape[0],
  };
}

export const swinTorchvisionMap: WeightMap = {
  backbone: 'SwinTransformer',
  formats: ['torchvision'],
  detect,
  toToolkit,
  toForeign,
  // The bias table is [positions, heads] in both: not a linear layer's weight.
  layout: (name) => (name.endsWith('.relative_position_bias_table') ? 'same' : undefined),
  exportExtras(foreign) {
    for (const [name, t] of [...foreign]) {
      if (!name.endsWith('.attn.relative_position_bias_table')) continue;
      const window = (Math.sqrt(t.shape[0]) + 1) / 2;
      const index = relativePositionIndex(window, window);
      foreign.set(name.replace(/relative_position_bias_table$/, 'relative_position_index'), { shape: [index.length], values: index, stored: 'I64' });
    }
  },
  exportProblem: (b) => (b.out_indices && JSON.stringify(b.out_indices) !== JSON.stringify([((b.depths as number[] | undefined)?.length ?? 4) - 1]) ? 'its SwinTransformer returns several stages (out_indices); torchvision has one final norm' : undefined),
};
