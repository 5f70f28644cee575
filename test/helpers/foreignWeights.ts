/**
 * PyTorch-named weights made without PyTorch: a toolkit model's backbone and classifier written in
 * torchvision/timm names and layouts (what `cvw weights export` writes), with every value nudged off
 * the toolkit's initialisation so that a test can tell loaded weights from fresh ones.
 */
import '../../src/builtins';
import { build } from '../../src/core/registry';
import type { Module } from '../../src/models/nn/module';
import { convertToForeign } from '../../src/weights/convert';
import { writeWeights } from '../../src/weights/export';
import { mapsForBackbone } from '../../src/weights/maps';
import type { WeightTensor } from '../../src/weights/tensor';

/** Write `model` (a Classification config: backbone and ClsHead) as `format`-named safetensors. */
export function writeForeignWeights(file: string, model: Record<string, unknown>, format = 'torchvision'): void {
  const type = String((model.backbone as { type?: unknown }).type);
  const map = mapsForBackbone(type).find((m) => m.formats.includes(format));
  if (!map) throw new Error(`no ${format} map for ${type}`);
  const m = build('model', model) as Module;
  const tensors = new Map<string, WeightTensor>();
  for (const [k, v] of m.stateDict()) tensors.set(k, { shape: v.shape, values: Float32Array.from(v.dataSync() as Float32Array, (x, i) => x + 0.001 * (i % 7)), stored: 'F32' });
  m.dispose();
  writeWeights(file, convertToForeign(tensors, map), { format: 'pt' });
}
