/**
 * ConvNeXt's weight maps on the variants no small PyTorch model here has (torchParity.test.ts checks
 * the logits): the published presets, the timm variants the toolkit cannot hold, files without layer
 * scale, timm's atto to nano (MLPs as 1x1 convolutions), and what cannot be exported. The tiny preset's parameters are torchvision's convnext_tiny's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/tf';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import type { Module } from '../../src/models/nn/module';
import { detectArchitecture } from '../../src/weights/maps';
import { convNeXtOfficialMap, convNeXtTimmMap, convNeXtTorchvisionMap } from '../../src/weights/maps/convnext';
import { convNeXtConvMlp } from '../../src/models/backbones/convnext';
import { toToolkitLayout, toTorchLayout } from '../../src/weights/layout';
import type { WeightTensor } from '../../src/weights/tensor';

const shape = (...s: number[]): WeightTensor => ({ shape: s, values: new Float32Array(0), stored: 'F32' });

/** The tensors detection looks at, in timm's names, of a ConvNeXt with these depths and widths. */
function timmShapes(depths: number[], dims: number[], o: { convMlp?: boolean; grn?: boolean; gamma?: boolean; normPre?: boolean } = {}): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>([
    ['stem.0.weight', shape(dims[0], 3, 4, 4)],
    ['head.fc.weight', shape(1000, dims[dims.length - 1])],
  ]);
  depths.forEach((n, s) => {
    for (let b = 0; b < n; b++) {
      const p = `stages.${s}.blocks.${b}.`;
      out.set(`${p}conv_dw.weight`, shape(dims[s], 1, 7, 7));
      out.set(`${p}mlp.fc1.weight`, o.convMlp ? shape(4 * dims[s], dims[s], 1, 1) : shape(4 * dims[s], dims[s]));
      if (o.gamma ?? true) out.set(`${p}gamma`, shape(dims[s]));
      if (o.grn) out.set(`${p}mlp.grn.weight`, shape(4 * dims[s]));
    }
  });
  if (o.normPre) out.set('norm_pre.weight', shape(dims[dims.length - 1]));
  return out;
}

beforeAll(async () => {
  await useCpu();
});

describe('ConvNeXt weights', () => {
  it('are recognised by preset (timm names), with the classifier’s classes', () => {
    const found = detectArchitecture(timmShapes([3, 3, 27, 3], [128, 256, 512, 1024]))!;
    expect(found.map).toBe(convNeXtTimmMap);
    expect(found.detected).toMatchObject({ variant: 'ConvNeXt-Base (timm names)', backbone: { type: 'ConvNeXt', arch: 'base', in_channels: 3, patch_size: 4 }, numClasses: 1000 });
    expect(found.detected.unsupported).toBeUndefined();
    // Without layer scales (timm's ls_init_value=None) the model is built without them.
    expect(convNeXtTimmMap.detect(timmShapes([3, 3, 9, 3], [96, 192, 384, 768], { gamma: false }))!.backbone).toMatchObject({ arch: 'tiny', layer_scale_init_value: 0 });
  });

  it('of timm’s atto to nano (MLPs as 1x1 convolutions) are their presets; other 1x1-convolution files say conv_mlp', () => {
    const atto = convNeXtTimmMap.detect(timmShapes([2, 2, 6, 2], [40, 80, 160, 320], { convMlp: true }))!;
    expect(atto.variant).toBe('ConvNeXt-Atto (timm names)');
    expect(atto.unsupported).toBeUndefined();
    expect(atto.backbone).toEqual({ type: 'ConvNeXt', arch: 'atto', in_channels: 3, patch_size: 4 });
    expect(convNeXtConvMlp(atto.backbone)).toBe(true);
    expect(convNeXtTimmMap.detect(timmShapes([2, 2, 6, 2], [40, 80, 160, 320]))!.backbone).toMatchObject({ arch: 'atto', conv_mlp: false });
    expect(convNeXtTimmMap.detect(timmShapes([1, 1], [8, 16], { convMlp: true }))!.backbone).toMatchObject({ arch: 'custom', conv_mlp: true });
    // Exported to timm, a conv_mlp model's MLP weights get their 1x1 back; never for torchvision.
    const foreign = () => new Map<string, WeightTensor>([['stages.0.blocks.0.mlp.fc1.weight', { shape: [8, 4], values: new Float32Array(32), stored: 'F32' }]]);
    const timm = foreign();
    convNeXtTimmMap.exportExtras!(timm, { type: 'ConvNeXt', arch: 'atto' });
    expect(timm.get('stages.0.blocks.0.mlp.fc1.weight')!.shape).toEqual([8, 4, 1, 1]);
    const linear = foreign();
    convNeXtTimmMap.exportExtras!(linear, { type: 'ConvNeXt', arch: 'tiny' });
    expect(linear.get('stages.0.blocks.0.mlp.fc1.weight')!.shape).toEqual([8, 4]);
  });

  it('of ConvNeXt V2 (GRN, no layer scale) are V2 presets; a V2 with layer scales says so', () => {
    const v2 = convNeXtTimmMap.detect(timmShapes([3, 3, 27, 3], [352, 704, 1408, 2816], { grn: true, gamma: false }))!;
    expect(v2.variant).toBe('ConvNeXt V2-Huge (timm names)');
    expect(v2.unsupported).toBeUndefined();
    expect(v2.backbone).toEqual({ type: 'ConvNeXt', arch: 'huge', in_channels: 3, patch_size: 4, use_grn: true });
    expect(convNeXtTimmMap.detect(timmShapes([3, 3, 9, 3], [96, 192, 384, 768], { grn: true }))!.backbone).toMatchObject({ arch: 'tiny', use_grn: true, layer_scale_init_value: 1e-6 });
  });

  it('of timm’s head_norm_first say why the toolkit’s ConvNeXt cannot hold them', () => {
    expect(convNeXtTimmMap.detect(timmShapes([3, 3, 9, 3], [96, 192, 384, 768], { normPre: true }))!.unsupported).toMatch(/head_norm_first/);
  });

  it('the official V2 code’s GRN weights are [1, 1, 1, C] in PyTorch and [C] here, both ways; timm’s are [C]', () => {
    const t: WeightTensor = { shape: [1, 1, 1, 3], values: new Float32Array([1, 2, 3]), stored: 'F32' };
    expect(convNeXtOfficialMap.layout!('backbone.stages.1.blocks.0.mlp.grn.weight')).toBe('scale_nhwc');
    expect(convNeXtOfficialMap.layout!('backbone.stages.1.blocks.0.mlp.grn.bias')).toBe('scale_nhwc');
    expect(convNeXtTimmMap.layout!('backbone.stages.1.blocks.0.mlp.grn.weight')).toBeUndefined();
    const here = toToolkitLayout(t, 'scale_nhwc');
    expect(here.shape).toEqual([3]);
    expect(toTorchLayout(here, 'scale_nhwc')).toEqual(t);
    expect(convNeXtOfficialMap.toForeign('backbone.stages.1.blocks.0.mlp.grn.bias')).toBe('stages.1.0.grn.beta');
  });

  it('torchvision’s layer scale is [C, 1, 1] in PyTorch and [C] here, both ways', () => {
    const t: WeightTensor = { shape: [3, 1, 1], values: new Float32Array([1, 2, 3]), stored: 'F32' };
    expect(convNeXtTorchvisionMap.layout!('backbone.stages.1.blocks.0.gamma')).toBe('scale');
    expect(convNeXtTimmMap.layout!('backbone.stages.1.blocks.0.gamma')).toBeUndefined();
    const here = toToolkitLayout(t, 'scale');
    expect(here.shape).toEqual([3]);
    expect(toTorchLayout(here, 'scale')).toEqual(t);
  });

  it('MLP weights are [in, out] here from [out, in] or [out, in, 1, 1], and [out, in] back', () => {
    const conv: WeightTensor = { shape: [3, 2, 1, 1], values: new Float32Array([1, 2, 3, 4, 5, 6]), stored: 'F32' };
    expect(convNeXtTimmMap.layout!('backbone.stages.0.blocks.1.mlp.fc2.weight')).toBe('pointwise');
    const here = toToolkitLayout(conv, 'pointwise');
    expect(here.shape).toEqual([2, 3]);
    expect(Array.from(here.values)).toEqual([1, 3, 5, 2, 4, 6]);
    expect(toToolkitLayout({ ...conv, shape: [3, 2] }, 'pointwise')).toEqual(here);
    expect(toTorchLayout(here, 'pointwise')).toEqual({ ...conv, shape: [3, 2] });
  });

  it('cannot be exported from a backbone that returns other stages, maps, or has another stem (torchvision)', () => {
    expect(convNeXtTimmMap.exportProblem!({ type: 'ConvNeXt', out_indices: [1, 3] })).toBe("its ConvNeXt returns other stages than the last (out_indices); timm's has one final norm");
    expect(convNeXtTimmMap.exportProblem!({ type: 'ConvNeXt', gap_before_final_norm: false })).toMatch(/normalises before pooling/);
    expect(convNeXtTorchvisionMap.exportProblem!({ type: 'ConvNeXt', patch_size: 2 })).toBe("its ConvNeXt has patch_size 2; torchvision's stem is 4x4");
    expect(convNeXtTimmMap.exportProblem!({ type: 'ConvNeXt', patch_size: 2 })).toBeUndefined();
    expect(convNeXtTimmMap.exportProblem!({ type: 'ConvNeXt', arch: 'custom', depths: [1, 1], out_indices: [1] })).toBeUndefined();
    expect(convNeXtTorchvisionMap.exportProblem!({ type: 'ConvNeXt', use_grn: true })).toBe('its ConvNeXt is a V2 (use_grn); torchvision has no ConvNeXt V2');
    expect(convNeXtOfficialMap.exportProblem!({ type: 'ConvNeXt', use_grn: true })).toBeUndefined();
  });

  const parameters = (backbone: Record<string, unknown>) => {
    const model = build<Module>('model', { type: 'Classification', backbone: { type: 'ConvNeXt', arch: 'tiny', ...backbone }, head: { type: 'ClsHead', num_classes: 1000 } });
    const count = model.namedParameters().reduce((n, [, p]) => n + p.variable.size, 0);
    model.dispose();
    return count;
  };

  it('of the tiny preset with a 1,000-class head number torchvision’s convnext_tiny: 28,589,128', () => {
    expect(parameters({})).toBe(28_589_128);
  });

  it('of the tiny V2 number 46,368 more (timm’s convnextv2_tiny, 28.6M): per block a GRN of 2 x 4C, no layer scale of C', () => {
    // 7 x (3 x 96 + 3 x 192 + 9 x 384 + 3 x 768) = 46,368.
    expect(parameters({ use_grn: true })).toBe(28_589_128 + 46_368);
  });
});
