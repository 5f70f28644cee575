/**
 * ConvNeXt in three namings, all to the toolkit's ConvNeXt (timm's names, with the stem's and the
 * downsampling's parts named `conv`/`norm` where timm numbers them):
 *
 * - timm (`convnext_tiny.fb_in1k`, ...): `stem.0` conv, `stem.1` norm; `stages.<s>.downsample.0`
 *   norm, `.1` conv; `stages.<s>.blocks.<b>.conv_dw/norm/mlp.fc1/mlp.fc2/gamma`; `head.norm`, `head.fc`.
 *   Its atto to nano hold the MLPs as 1x1 convolutions (`conv_mlp`, [out, in, 1, 1]). ConvNeXt V2
 *   (`convnextv2_*`) adds `mlp.grn.weight/bias` ([C]) and has no `gamma`.
 * - torchvision (`convnext_tiny/small/base/large`) numbers everything through `features`: 0 the
 *   stem, odd indices the stages' blocks (`block.0` depthwise conv, `block.2` norm, `block.3` and
 *   `block.5` the MLP, `layer_scale` as [C, 1, 1]), even ones the downsampling before the next
 *   stage; `classifier.0` the norm, `classifier.2` the linear layer.
 * - the official code (facebookresearch/ConvNeXt): `downsample_layers.0` the stem,
 *   `downsample_layers.<s>` the downsampling, `stages.<s>.<b>.dwconv/norm/pwconv1/pwconv2/gamma`,
 *   `norm`, `head`. Its V2 (facebookresearch/ConvNeXt-V2) adds `grn.gamma/beta` to each block, [1, 1, 1, C].
 * torchvision has no ConvNeXt V2.
 */
import { CONVNEXT_ARCHS, convNeXtConvMlp } from '../../models/backbones/convnext';
import type { WeightTensor } from '../tensor';
import { prefixRules, type Detected, type WeightMap } from './types';

/** Where a naming keeps the tensors detection reads. */
interface ConvNeXtNames {
  format: 'timm' | 'torchvision' | 'official';
  stem: string;
  /** Prefix of block `b` of stage `s`. */
  block: (s: number, b: number) => string;
  /** Prefix of the downsampling before stage `s` (1 and up). */
  down: (s: number) => string;
  dw: string;
  fc1: string;
  scale: string;
  /** ConvNeXt V2's GRN weight in a block, where the naming has V2. */
  grn?: string;
  head: string;
}

function detectConvNeXt(tensors: Map<string, WeightTensor>, names: ConvNeXtNames): Detected | undefined {
  const stem = tensors.get(names.stem);
  if (!stem || stem.shape.length !== 4 || !tensors.has(`${names.block(0, 0)}${names.dw}`)) return undefined;
  const depths: number[] = [];
  const dims: number[] = [];
  for (let s = 0; tensors.has(`${names.block(s, 0)}${names.dw}`); s++) {
    let n = 0;
    while (tensors.has(`${names.block(s, n)}${names.dw}`)) n++;
    depths.push(n);
    dims.push(tensors.get(`${names.block(s, 0)}${names.dw}`)!.shape[0]);
  }
  const arch = Object.entries(CONVNEXT_ARCHS).find(([, a]) => a.depths.join() === depths.join() && a.dims.join() === dims.join())?.[0];
  const convMlp = tensors.get(`${names.block(0, 0)}${names.fc1}`)?.shape.length === 4;
  const v2 = names.grn !== undefined && tensors.has(`${names.block(0, 0)}${names.grn}`);
  const scaled = tensors.has(`${names.block(0, 0)}${names.scale}`);
  const detected: Detected = {
    variant: `ConvNeXt${v2 ? ' V2' : ''}-${arch ? arch[0].toUpperCase() + arch.slice(1) : `${dims.join('-')} wide, depths ${depths.join('-')}`} (${names.format} names)`,
    backbone: {
      type: 'ConvNeXt',
      ...(arch ? { arch } : { arch: 'custom', depths, dims }),
      in_channels: stem.shape[1],
      patch_size: stem.shape[2],
      // timm's atto to nano hold their MLPs as 1x1 convolutions ([out, in, 1, 1]): the same layers, said where the preset does not.
      ...(convMlp !== convNeXtConvMlp({ arch: arch ?? 'custom' }) ? { conv_mlp: convMlp } : {}),
      ...(v2 ? { use_grn: true } : {}),
      // Layer scale where V1 has none or V2 has one (each version's default otherwise); the file's values replace the start value.
      ...(scaled === v2 ? { layer_scale_init_value: scaled ? 1e-6 : 0 } : {}),
    },
    numClasses: tensors.get(`${names.head}.weight`)?.shape[0],
  };
  if (tensors.has('norm_pre.weight')) detected.unsupported = "its final norm comes before pooling (timm's head_norm_first); the toolkit's ConvNeXt pools first";
  return detected;
}

/**
 * The depthwise convolutions are [C, 1, 7, 7] in PyTorch; torchvision's layer scales [C, 1, 1], the
 * others' [C]; the official V2 code's GRN weights [1, 1, 1, C], timm's [C]; the MLPs linear layers or
 * (timm's atto to nano) 1x1 convolutions.
 */
const layoutOf =
  (format: ConvNeXtNames['format']): WeightMap['layout'] =>
  (name) => {
    if (name.endsWith('.conv_dw.weight')) return 'dwconv';
    if (format === 'torchvision' && name.endsWith('.gamma')) return 'scale';
    if (format === 'official' && /\.mlp\.grn\.(weight|bias)$/.test(name)) return 'scale_nhwc';
    return /\.mlp\.fc[12]\.weight$/.test(name) ? 'pointwise' : undefined;
  };

/** Why a backbone config cannot go to a naming whose classifier pools, then normalises, the last stage. */
function exportProblem(b: Record<string, unknown>, names: ConvNeXtNames, stemFixed: boolean): string | undefined {
  const format = names.format;
  if (b.use_grn && !names.grn) return `its ConvNeXt is a V2 (use_grn); ${format} has no ConvNeXt V2`;
  const stages = ((b.depths as number[] | undefined) ?? CONVNEXT_ARCHS.tiny.depths).length;
  if (b.out_indices && JSON.stringify(b.out_indices) !== JSON.stringify([stages - 1])) return `its ConvNeXt returns other stages than the last (out_indices); ${format}'s has one final norm`;
  if (b.gap_before_final_norm === false) return `its ConvNeXt normalises before pooling (gap_before_final_norm: false); ${format}'s pools first`;
  if (stemFixed && (b.patch_size ?? 4) !== 4) return `its ConvNeXt has patch_size ${String(b.patch_size)}; ${format}'s stem is 4x4`;
  return undefined;
}

/** A map whose names differ from the toolkit's by `top` (outside the stages), `block` (inside a block) and where blocks and downsampling sit. */
function convNeXtMap(o: {
  names: ConvNeXtNames;
  top: ReturnType<typeof prefixRules>;
  block: ReturnType<typeof prefixRules>;
  /** A foreign name in a block -> [stage, block, rest] (the inverse of `names.block`). */
  parseBlock(name: string): [number, number, string] | undefined;
  /** A foreign name in a downsampling -> [stage, rest] (the inverse of `names.down`). */
  parseDown(name: string): [number, string] | undefined;
  stemFixed: boolean;
}): WeightMap {
  const layout = layoutOf(o.names.format);
  const down = prefixRules([
    ['0.*', 'norm.*'],
    ['1.*', 'conv.*'],
  ]);
  return {
    backbone: 'ConvNeXt',
    formats: [o.names.format],
    detect: (tensors) => detectConvNeXt(tensors, o.names),
    toToolkit(name) {
      const b = o.parseBlock(name);
      if (b) {
        const part = o.block.toToolkit(b[2]);
        return part && `backbone.stages.${b[0]}.blocks.${b[1]}.${part}`;
      }
      const d = o.parseDown(name);
      if (d) {
        const part = down.toToolkit(d[1]);
        return part && `backbone.stages.${d[0]}.downsample.${part}`;
      }
      return o.top.toToolkit(name);
    },
    toForeign(name) {
      const b = /^backbone\.stages\.(\d+)\.blocks\.(\d+)\.(.*)$/.exec(name);
      if (b) {
        const part = o.block.toForeign(b[3]);
        return part && o.names.block(Number(b[1]), Number(b[2])) + part;
      }
      const d = /^backbone\.stages\.(\d+)\.downsample\.(.*)$/.exec(name);
      if (d) {
        const part = down.toForeign(d[2]);
        return part && o.names.down(Number(d[1])) + part;
      }
      return o.top.toForeign(name);
    },
    layout,
    exportProblem: (b) => exportProblem(b, o.names, o.stemFixed),
    // timm's atto to nano load their MLPs as 1x1 convolutions; torchvision and the official code have no such models.
    exportExtras(foreign, backbone) {
      if (o.names.format !== 'timm' || !convNeXtConvMlp(backbone)) return;
      for (const [name, t] of foreign) if (/\.mlp\.fc[12]\.weight$/.test(name)) foreign.set(name, { ...t, shape: [...t.shape, 1, 1] });
    },
  };
}

const stem = (prefix: string) => [
  [`${prefix}0.*`, 'backbone.stem.conv.*'],
  [`${prefix}1.*`, 'backbone.stem.norm.*'],
] as Array<[string, string]>;

export const convNeXtTimmMap = convNeXtMap({
  names: { format: 'timm', stem: 'stem.0.weight', block: (s, b) => `stages.${s}.blocks.${b}.`, down: (s) => `stages.${s}.downsample.`, dw: 'conv_dw.weight', fc1: 'mlp.fc1.weight', scale: 'gamma', grn: 'mlp.grn.weight', head: 'head.fc' },
  top: prefixRules([...stem('stem.'), ['head.norm.*', 'backbone.norm.*'], ['head.fc.*', 'head.fc.*']]),
  block: prefixRules([['*', '*']]),
  parseBlock: (name) => {
    const m = /^stages\.(\d+)\.blocks\.(\d+)\.(.*)$/.exec(name);
    return m ? [Number(m[1]), Number(m[2]), m[3]] : undefined;
  },
  parseDown: (name) => {
    const m = /^stages\.(\d+)\.downsample\.(.*)$/.exec(name);
    return m ? [Number(m[1]), m[2]] : undefined;
  },
  stemFixed: false,
});

export const convNeXtTorchvisionMap = convNeXtMap({
  names: { format: 'torchvision', stem: 'features.0.0.weight', block: (s, b) => `features.${2 * s + 1}.${b}.`, down: (s) => `features.${2 * s}.`, dw: 'block.0.weight', fc1: 'block.3.weight', scale: 'layer_scale', head: 'classifier.2' },
  top: prefixRules([...stem('features.0.'), ['classifier.0.*', 'backbone.norm.*'], ['classifier.2.*', 'head.fc.*']]),
  block: prefixRules([
    ['block.0.*', 'conv_dw.*'],
    ['block.2.*', 'norm.*'],
    ['block.3.*', 'mlp.fc1.*'],
    ['block.5.*', 'mlp.fc2.*'],
    ['layer_scale', 'gamma'],
  ]),
  parseBlock: (name) => {
    const m = /^features\.(\d+)\.(\d+)\.(.*)$/.exec(name);
    return m && Number(m[1]) % 2 === 1 ? [(Number(m[1]) - 1) / 2, Number(m[2]), m[3]] : undefined;
  },
  parseDown: (name) => {
    const m = /^features\.(\d+)\.(.*)$/.exec(name);
    return m && Number(m[1]) > 0 && Number(m[1]) % 2 === 0 ? [Number(m[1]) / 2, m[2]] : undefined;
  },
  stemFixed: true,
});

export const convNeXtOfficialMap = convNeXtMap({
  names: { format: 'official', stem: 'downsample_layers.0.0.weight', block: (s, b) => `stages.${s}.${b}.`, down: (s) => `downsample_layers.${s}.`, dw: 'dwconv.weight', fc1: 'pwconv1.weight', scale: 'gamma', grn: 'grn.gamma', head: 'head' },
  top: prefixRules([...stem('downsample_layers.0.'), ['norm.*', 'backbone.norm.*'], ['head.*', 'head.fc.*']]),
  block: prefixRules([
    ['dwconv.*', 'conv_dw.*'],
    ['pwconv1.*', 'mlp.fc1.*'],
    ['pwconv2.*', 'mlp.fc2.*'],
    ['grn.gamma', 'mlp.grn.weight'],
    ['grn.beta', 'mlp.grn.bias'],
    ['*', '*'],
  ]),
  parseBlock: (name) => {
    const m = /^stages\.(\d+)\.(\d+)\.(.*)$/.exec(name);
    return m ? [Number(m[1]), Number(m[2]), m[3]] : undefined;
  },
  parseDown: (name) => {
    const m = /^downsample_layers\.(\d+)\.(.*)$/.exec(name);
    return m && m[1] !== '0' ? [Number(m[1]), m[2]] : undefined;
  },
  stemFixed: true,
});
