/**
 * Backbone weights from a file: a checkpoint or run of this toolkit (`model.backbone.*`), or a
 * torchvision/timm state dict (safetensors or `.pth`) converted through the backbone's name map.
 */
import * as fs from 'node:fs';
import { UserError } from '../core/problems';
import { runCheckpoint } from '../export/source';
import type { Module } from '../models/nn/module';
import { convertToToolkit, loadConverted, type Converted, type LoadReport } from './convert';
import { WEIGHT_MAPS, mapsForBackbone } from './maps';
import { readWeights } from './read';
import type { WeightMap } from './maps/types';

/**
 * Load `file` into `backbone` (a `type` backbone). `where` is the config key that named the file,
 * for errors. Returns what loaded, what the file lacked and what it had extra.
 */
export function loadPretrainedBackbone(backbone: Module, type: string, file: string, where: string): LoadReport {
  const source = fs.existsSync(file) && fs.statSync(file).isDirectory() ? runCheckpoint(file) : file;
  if (!fs.existsSync(source)) throw new UserError(`${where}: ${file}: no such file or run directory`);
  const w = readWeights(source);
  let converted: Converted;
  let adapt: WeightMap['adapt'];
  if (w.metadata.format === 'cvw') {
    // This toolkit's own checkpoint: the names are the model's already (model.backbone.*).
    converted = { tensors: new Map(), source: new Map(), unmapped: [] };
    for (const [k, t] of w.tensors) {
      if (!k.startsWith('model.')) continue;
      converted.tensors.set(k.slice('model.'.length), t);
      converted.source.set(k.slice('model.'.length), k);
    }
  } else {
    const maps = mapsForBackbone(type);
    if (!maps.length) throw new UserError(`${where}: ${file} is not a checkpoint of this toolkit, and foreign weights map to ${[...new Set(WEIGHT_MAPS.map((m) => m.backbone))].join(', ')} only, not ${type}`);
    const map = maps.find((m) => m.detect(w.tensors));
    const detected = map?.detect(w.tensors);
    if (!map || !detected) throw new UserError(`${where}: ${file} does not look like ${[...new Set(maps.flatMap((m) => m.formats))].join('/')} ${type} weights (\`cvw weights inspect ${file}\` says what it holds)`);
    if (detected.unsupported) throw new UserError(`${where}: ${file} holds ${detected.variant}: ${detected.unsupported}`);
    adapt = map.adapt;
    converted = convertToToolkit(w.tensors, map);
  }
  return loadConverted(backbone, converted, { file, prefix: 'backbone.', where, adapt });
}
