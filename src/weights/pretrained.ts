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
import type { WeightTensor } from './tensor';

/**
 * Load `file` into `backbone` (a `type` backbone). `where` is the config key that named the file,
 * for errors; `key` takes the weights from a nested dict or name prefix of a foreign file (the
 * query encoder of a MoCo checkpoint, DINO's teacher), as `cvw weights convert --key`. Returns
 * what loaded, what the file lacked and what it had extra.
 */
export function loadPretrainedBackbone(backbone: Module, type: string, file: string, where: string, key?: string): LoadReport {
  const source = fs.existsSync(file) && fs.statSync(file).isDirectory() ? runCheckpoint(file) : file;
  if (!fs.existsSync(source)) throw new UserError(`${where}: ${file}: no such file or run directory`);
  const w = readWeights(source, { key });
  let converted: Converted;
  let adapt: WeightMap['adapt'];
  if (w.metadata.format === 'cvw') {
    if (key) throw new UserError(`${where}: ${file} is a checkpoint of this toolkit, whose backbone is found without pretrained_key: leave it out`);
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
    if (!map || !detected) throw new UserError(`${where}: ${file} does not look like ${[...new Set(maps.flatMap((m) => m.formats))].join('/')} ${type} weights (\`cvw weights inspect ${file}\` says what it holds)${key ? '' : nestedHint(w.tensors, maps)}`);
    if (detected.unsupported) throw new UserError(`${where}: ${file} holds ${detected.variant}: ${detected.unsupported}`);
    adapt = map.adapt;
    converted = convertToToolkit(w.tensors, map);
  }
  return loadConverted(backbone, converted, { file, prefix: 'backbone.', where, adapt });
}

/**
 * A checkpoint that holds the backbone one level down (MoCo's `encoder_q.`, DINO's `teacher.`,
 * mmpretrain's `backbone.`): the first prefix under which one of `maps` recognises the weights,
 * said as the pretrained_key to set.
 */
function nestedHint(tensors: Map<string, WeightTensor>, maps: WeightMap[]): string {
  const prefixes = [...new Set([...tensors.keys()].filter((k) => k.includes('.')).map((k) => k.slice(0, k.indexOf('.'))))];
  for (const prefix of prefixes.slice(0, 64)) {
    const inner = new Map([...tensors].filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, t]) => [k.slice(prefix.length + 1), t]));
    if (maps.some((m) => m.detect(inner))) return `; the backbone's weights are under "${prefix}.": set model.pretrained_key: ${prefix}`;
  }
  return '';
}
