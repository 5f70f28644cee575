/**
 * Foreign state dicts into the toolkit's names and layouts (and back, for export), and into a
 * module's variables with a report of what loaded, what the file lacked and what it had extra.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/problems';
import type { Module } from '../models/nn/module';
import { defaultLayout, toToolkitLayout, toTorchLayout } from './layout';
import type { WeightMap } from './maps';
import type { WeightTensor } from './tensor';

export interface Converted {
  /** Toolkit name -> tensor in the toolkit's layout. */
  tensors: Map<string, WeightTensor>;
  /** Toolkit name -> the foreign name it came from (for messages). */
  source: Map<string, string>;
  /** Foreign names with no toolkit counterpart. */
  unmapped: string[];
}

export function layoutOf(map: WeightMap, toolkitName: string, rank: number) {
  return map.layout?.(toolkitName) ?? defaultLayout(rank);
}

export function convertToToolkit(tensors: Map<string, WeightTensor>, map: WeightMap): Converted {
  const out: Converted = { tensors: new Map(), source: new Map(), unmapped: [] };
  for (const [name, t] of tensors) {
    const target = map.toToolkit(name);
    if (target === null) continue;
    if (target === undefined) {
      out.unmapped.push(name);
      continue;
    }
    out.tensors.set(target, toToolkitLayout(t, layoutOf(map, target, t.shape.length)));
    out.source.set(target, name);
  }
  return out;
}

/**
 * Toolkit tensors (Classification names: `backbone.*`, `head.fc.*`) to the foreign state dict,
 * with the batch-norm counters PyTorch's strict loading expects. `backbone`: the exported model's
 * backbone config, for the layouts that depend on it (ConvNeXt's conv_mlp).
 */
export function convertToForeign(tensors: Map<string, WeightTensor>, map: WeightMap, backbone: Record<string, unknown> = {}): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const [name, t] of tensors) {
    const foreign = map.toForeign(name);
    if (!foreign) throw new UserError(`weights export: "${name}" has no ${map.formats.join('/')} counterpart (the ${map.backbone} map does not know it)`);
    out.set(foreign, toTorchLayout(t, layoutOf(map, name, t.shape.length)));
    if (foreign.endsWith('.running_mean')) out.set(foreign.replace(/running_mean$/, 'num_batches_tracked'), { shape: [], values: new Int32Array(1), stored: 'I64' });
  }
  map.exportExtras?.(out, backbone);
  return out;
}

export interface LoadReport {
  loaded: string[];
  /** The module's variables the file did not have (kept as initialised). */
  missing: string[];
  /** Foreign names not loaded: no counterpart, or outside the module (a classifier head). */
  unused: string[];
}

/**
 * Copy converted tensors named `prefix + <module variable>` into `module`. A shape that differs is
 * an error naming both names and both shapes; `where` says which config key asked for the file.
 */
export function loadConverted(module: Module, converted: Converted, options: { file: string; prefix: string; where: string; adapt?: WeightMap['adapt'] }): LoadReport {
  const report: LoadReport = { loaded: [], missing: [], unused: [...converted.unmapped] };
  const own = module.stateDict();
  const pending: Array<[tf.Variable, WeightTensor]> = [];
  for (const [name, v] of own) {
    const key = options.prefix + name;
    let t = converted.tensors.get(key);
    if (t && !tf.util.arraysEqual(t.shape, v.shape)) t = options.adapt?.(key, t, v.shape) ?? t;
    if (!t) {
      report.missing.push(name);
      continue;
    }
    if (!tf.util.arraysEqual(t.shape, v.shape)) {
      const foreign = converted.source.get(key) ?? key;
      throw new UserError(`${options.where}: ${options.file}: "${foreign}" has shape [${t.shape}] (in the toolkit's layout, as "${key}") but the model's "${key}" is [${v.shape}]; check the backbone's depth, widths and in_channels against the file (\`cvw weights inspect ${options.file}\`)`);
    }
    pending.push([v, t]);
    report.loaded.push(name);
  }
  // Assign only once every shape is known to fit: a failed load leaves the model untouched.
  for (const [v, t] of pending) tf.tidy(() => v.assign(tf.tensor(t.values, t.shape, v.dtype === 'int32' ? 'int32' : 'float32')));
  for (const [key, foreign] of converted.source) if (!key.startsWith(options.prefix) || !own.has(key.slice(options.prefix.length))) report.unused.push(foreign);
  return report;
}

/** One log line for a load report: counts, then the names that did not load. */
export function describeLoad(file: string, r: LoadReport): string {
  const list = (names: string[]) => (names.length > 12 ? `${names.slice(0, 12).join(', ')}, ... (${names.length})` : names.join(', '));
  return `loaded ${r.loaded.length} tensors from ${file}; missing (kept as initialised): ${r.missing.length ? list(r.missing) : 'none'}; unexpected (not loaded): ${r.unused.length ? list(r.unused) : 'none'}`;
}

