/**
 * `cvw weights export`: a run's weights as a safetensors file in torchvision's or timm's names
 * and layouts, which PyTorch loads with `load_state_dict(strict=True)` into the matching model.
 * A Classification run exports backbone and classifier; any other run (self-supervised) exports
 * the backbone alone, which timm loads with `num_classes=0`; a YOLOX run exports whole in the
 * reference's names (`--format yolox`).
 */
import { UserError } from '../core/problems';
import { writeAtomic } from '../rundir/atomic';
import { ensureBackend, loadModel, resolveModelSource } from '../export/source';
import { convertToForeign } from './convert';
import { mapsForBackbone, WEIGHT_MAPS } from './maps';
import { encodeSafetensors, type TensorBytes } from './safetensors';
import type { WeightTensor } from './tensor';

export interface ExportWeightsResult {
  file: string;
  tensors: number;
  /** Float values written (parameters and batch-norm statistics). */
  values: number;
  /** What the file holds: 'backbone and classifier', 'backbone only' or 'the whole YOLOX'. */
  contents: string;
  weights: 'ema' | 'model';
}

/** Bytes of a tensor in the stored dtype safetensors will declare (F32, or I64 for counters). */
export function tensorBytes(t: WeightTensor): TensorBytes {
  if (t.stored === 'I64') return { dtype: 'I64', shape: t.shape, bytes: new Uint8Array(BigInt64Array.from(t.values, (v) => BigInt(v)).buffer) };
  if (t.values instanceof Float32Array) return { dtype: 'F32', shape: t.shape, bytes: new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength) };
  return { dtype: 'I32', shape: t.shape, bytes: new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength) };
}

/** Write a name -> tensor map as safetensors, atomically. */
export function writeWeights(file: string, tensors: Map<string, WeightTensor>, metadata: Record<string, string>): void {
  writeAtomic(file, encodeSafetensors([...tensors].map(([k, t]) => [k, tensorBytes(t)] as [string, TensorBytes]), metadata));
}

export async function exportWeights(target: string, format: string, out: string): Promise<ExportWeightsResult> {
  await ensureBackend('cpu');
  const source = resolveModelSource(target);
  const modelCfg = source.config.model as Record<string, unknown>;
  const backbone = (modelCfg.backbone ?? {}) as Record<string, unknown>;
  const type = String(backbone.type ?? '');
  const maps = mapsForBackbone(type);
  if (!maps.length) throw new UserError(`${target}: its backbone is ${type || 'unknown'}; weights export knows ${[...new Set(WEIGHT_MAPS.map((m) => m.backbone))].join(', ')}`);
  const map = maps.find((m) => m.formats.includes(format));
  if (!map) throw new UserError(`${target}: --format ${format} is not available for ${type}; use ${maps.flatMap((m) => m.formats).join(' or ')}`);
  const problem = map.model && modelCfg.type !== map.model ? `--format ${format} writes ${map.model} models, and this run's is ${String(modelCfg.type)}` : map.exportProblem?.(backbone);
  if (problem) throw new UserError(`${target}: cannot export as ${format}: ${problem}`);
  const whole = !!map.model;
  const withHead = modelCfg.type === 'Classification' && !modelCfg.neck && (modelCfg.head as { type?: string } | undefined)?.type === 'ClsHead';
  const { model, weights } = loadModel(source);
  const tensors = new Map<string, WeightTensor>();
  try {
    for (const [name, v] of model.stateDict()) {
      if (!(whole || name.startsWith('backbone.') || (withHead && name.startsWith('head.fc.')))) continue;
      const values = v.dtype === 'float32' ? Float32Array.from(v.dataSync() as Float32Array) : Int32Array.from(v.dataSync() as Int32Array);
      tensors.set(name, { shape: v.shape, values, stored: v.dtype === 'float32' ? 'F32' : 'I32' });
    }
  } finally {
    model.dispose();
  }
  const foreign = convertToForeign(tensors, map, backbone);
  writeWeights(out, foreign, { format: 'pt', source: 'cv-workbench', architecture: type, layout: format });
  let values = 0;
  for (const t of foreign.values()) if (t.stored !== 'I64') values += t.values.length;
  return { file: out, tensors: foreign.size, values, contents: whole ? `the whole ${map.model}` : withHead ? 'backbone and classifier' : 'backbone only', weights };
}
