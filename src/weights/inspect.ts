/** What a weights file holds, and which toolkit backbone it fits (`cvw weights inspect`). */
import { WEIGHT_MAPS, detectArchitecture, type Detected } from './maps';
import { readWeights, type ReadWeightsOptions } from './read';
import { numel } from './tensor';
import { checkpointMeta } from '../train/checkpoint';

export interface WeightsReport {
  file: string;
  format: 'safetensors' | 'torch';
  nestedKey?: string;
  strippedPrefix?: string;
  metadata: Record<string, string>;
  tensors: Array<{ name: string; shape: number[]; dtype: string }>;
  /** Values of every tensor but buffers (PyTorch's parameter count). */
  parameters: number;
  dtypes: Record<string, number>;
  detected?: Detected & { toolkitConfig?: Record<string, unknown> };
  /** For a checkpoint of this toolkit: the model config it was saved with. */
  toolkitModel?: Record<string, unknown>;
  skipped: string[];
}

/** Buffers, not parameters: batch-norm statistics and counters, Swin's relative position index and (official) attention masks. */
const BUFFERS = /(^|\.)(running_mean|running_var|num_batches_tracked|relative_position_index|attn_mask)$/;

export function inspectWeights(file: string, options: ReadWeightsOptions = {}): WeightsReport {
  const w = readWeights(file, options);
  const report: WeightsReport = { file, format: w.format, nestedKey: w.nestedKey, strippedPrefix: w.strippedPrefix, metadata: w.metadata, tensors: [], parameters: 0, dtypes: {}, skipped: w.skipped };
  for (const [name, t] of w.tensors) {
    report.tensors.push({ name, shape: t.shape, dtype: t.stored });
    report.dtypes[t.stored] = (report.dtypes[t.stored] ?? 0) + 1;
    if (!BUFFERS.test(name)) report.parameters += numel(t.shape);
  }
  if (w.metadata.format === 'cvw') {
    report.toolkitModel = (checkpointMeta(file, w.metadata).config as { model?: Record<string, unknown> } | undefined)?.model;
    return report;
  }
  const found = detectArchitecture(w.tensors);
  if (found) {
    const d = found.detected;
    report.detected = { ...d };
    // A whole model (YOLOX) starts from the file with load_from; a classifier's backbone with pretrained.
    if (!d.unsupported) report.detected.toolkitConfig = d.model ?? { type: 'Classification', backbone: d.backbone, head: { type: 'ClsHead', num_classes: d.numClasses }, pretrained: file };
  }
  return report;
}

export function formatWeightsReport(r: WeightsReport, all: boolean): string {
  const lines = [`${r.file}: ${r.format}${r.nestedKey ? `, weights under "${r.nestedKey}"` : ''}${r.strippedPrefix ? `, prefix "${r.strippedPrefix}" removed` : ''}`];
  lines.push(`tensors: ${r.tensors.length} (${Object.entries(r.dtypes).map(([d, n]) => `${n} ${d}`).join(', ')}), parameters: ${r.parameters.toLocaleString('en-US')}`);
  const meta = Object.entries(r.metadata).filter(([k]) => k !== 'cvw');
  if (meta.length) lines.push(`metadata: ${meta.map(([k, v]) => `${k}=${v.length > 60 ? `${v.slice(0, 60)}...` : v}`).join(', ')}`);
  if (r.skipped.length) lines.push(`not tensors (ignored): ${r.skipped.slice(0, 10).join(', ')}${r.skipped.length > 10 ? ', ...' : ''}`);
  if (r.metadata.format === 'cvw') lines.push(`a checkpoint of this toolkit${r.toolkitModel ? `; model: ${JSON.stringify(r.toolkitModel)}` : ''}`);
  else if (!r.detected) lines.push(`fits: no known backbone (the maps know ${knownFamilies()})`);
  else if (r.detected.unsupported) lines.push(`fits: ${r.detected.variant}, which the toolkit cannot load: ${r.detected.unsupported}`);
  else {
    lines.push(`fits: ${r.detected.variant}${r.detected.numClasses ? `, ${r.detected.numClasses}-class ${r.detected.model ? 'head' : 'classifier'}` : ''}`);
    lines.push(`  model: ${JSON.stringify(r.detected.toolkitConfig)}${r.detected.model ? `\n  load_from: ${r.file}` : ''}`);
  }
  const shown = all ? r.tensors : r.tensors.slice(0, 20);
  // A loop, not Math.max(...): --all on a header of 200,000 tensors overflowed the call stack as arguments.
  const width = shown.reduce((w, t) => Math.max(w, t.name.length), 4);
  for (const t of shown) lines.push(`  ${t.name.padEnd(width)}  ${t.dtype.padEnd(4)}  [${t.shape.join(', ')}]`);
  if (shown.length < r.tensors.length) lines.push(`  ... ${r.tensors.length - shown.length} more (--all lists every tensor)`);
  return lines.join('\n');
}

/** `ResNet (torchvision/timm), ..., YOLOX (yolox)`: each family the weight maps know, with its namings. */
function knownFamilies(): string {
  const formats = new Map<string, string[]>();
  for (const m of WEIGHT_MAPS) formats.set(m.model ?? m.backbone, [...(formats.get(m.model ?? m.backbone) ?? []), ...m.formats]);
  return [...formats].map(([family, names]) => `${family} (${names.join('/')})`).join(', ');
}
