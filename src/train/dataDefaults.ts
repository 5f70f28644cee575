/**
 * Parameters a config may leave to the data: a backbone's `in_channels` (1 for grey images, 3 for
 * colour) and a head's `num_classes` (the classes of the training source). Filled only where the
 * config does not say, and logged, so `config.yaml` of the run records what was used.
 */
import type { ComponentKind } from '../core/kinds';
import { registries } from '../core/registry';
import { isPlainObject, shapeOf, slotKindOf } from '../core/schema';
import type { DataInfo } from '../models/algorithms/types';

export function applyDataDefaults(raw: unknown, resolved: unknown, info: DataInfo, log: (m: string) => void, path = 'model', kind: ComponentKind = 'model'): void {
  if (!isPlainObject(resolved) || typeof resolved.type !== 'string') return;
  const entry = registries[kind].get(resolved.type);
  if (!entry) return;
  const given = isPlainObject(raw) ? raw : {};
  for (const [key, field] of Object.entries(shapeOf(entry.params) ?? {})) {
    const slotKind = slotKindOf(field);
    if (slotKind) {
      applyDataDefaults(given[key], resolved[key], info, log, `${path}.${key}`, slotKind);
      continue;
    }
    if (given[key] !== undefined) continue;
    if (kind === 'backbone' && key === 'in_channels' && resolved[key] !== info.channels) {
      resolved[key] = info.channels;
      log(`${path}.in_channels: ${info.channels} (the channels of the training images)`);
    } else if (kind === 'head' && key === 'num_classes' && info.numClasses !== undefined) {
      resolved[key] = info.numClasses;
      log(`${path}.num_classes: ${info.numClasses} (the classes of the training data)`);
    }
  }
}
