/**
 * Loading ResNet-50's 25.6 M parameters from a torchvision-named safetensors file (issue 20:
 * target under 2 s): read and validate the file, map names and layouts (OIHW -> HWIO), copy into
 * the model's variables — the whole path of `model.pretrained`. The file is written first by the
 * toolkit's own export of a randomly initialised ResNet-50 (102 MB, same names and sizes as
 * torchvision's resnet50 weights).
 *
 *   node -r sucrase/register bench/weights/load_resnet50.ts [--runs 3] [--file /tmp/cvw-bench-resnet50.safetensors]
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import type { Classification } from '../../src/models/algorithms/classification';
import { convertToForeign, convertToToolkit, loadConverted } from '../../src/weights/convert';
import { writeWeights } from '../../src/weights/export';
import { resnetMap } from '../../src/weights/maps/resnet';
import { readWeights } from '../../src/weights/read';
import type { WeightTensor } from '../../src/weights/tensor';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const config = { type: 'Classification', backbone: { type: 'ResNet', depth: 50 }, head: { type: 'ClsHead', num_classes: 1000 } };

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const file = arg('file', '/tmp/cvw-bench-resnet50.safetensors');
  const runs = Number(arg('runs', '3'));
  const model = build('model', config) as Classification;
  if (!fs.existsSync(file)) {
    const tensors = new Map<string, WeightTensor>();
    for (const [k, v] of model.stateDict()) tensors.set(k, { shape: v.shape, values: Float32Array.from(v.dataSync() as Float32Array), stored: 'F32' });
    writeWeights(file, convertToForeign(tensors, resnetMap), { format: 'pt' });
  }
  const params = model.parameterCount();
  const times: Array<{ read: number; convert: number; assign: number; total: number }> = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const w = readWeights(file);
    const t1 = performance.now();
    const converted = convertToToolkit(w.tensors, resnetMap);
    const t2 = performance.now();
    const report = loadConverted(model, converted, { file, prefix: '', where: 'bench' });
    const t3 = performance.now();
    if (report.missing.length || report.unused.length) throw new Error(`bench: missing ${report.missing}, unused ${report.unused}`);
    times.push({ read: t1 - t0, convert: t2 - t1, assign: t3 - t2, total: t3 - t0 });
  }
  const best = times.reduce((a, b) => (b.total < a.total ? b : a));
  const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
  console.log(`ResNet-50, ${params.toLocaleString('en-US')} parameters, ${(fs.statSync(file).size / 1e6).toFixed(1)} MB safetensors`);
  console.log(`runs: ${times.map((t) => ms(t.total)).join(', ')}`);
  console.log(`best: ${ms(best.total)} (read + validate ${ms(best.read)}, names + layouts ${ms(best.convert)}, into the model ${ms(best.assign)})`);
  model.dispose();
}

void main();
