/**
 * Per-kernel time profile of one training step of a self-supervised config (its model, random
 * views of the configured sizes): where a step's time goes, to report to the engine's owners.
 *
 *   nice -n 10 node -r sucrase/register bench/selfsup/profile.ts <config> [--batch 64] [--engine wasm-ort]
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../src/builtins';
import { initEngine } from '../../src/engine';
import { resolveConfig } from '../../src/core/check';
import { registries } from '../../src/core/registry';
import { seedInit, seedStep } from '../../src/models/nn';
import type { Algorithm } from '../../src/models/algorithms/types';

const args = process.argv.slice(2);
const opt = (n: string, d: string) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);

async function main(): Promise<void> {
  const file = args[0];
  const batch = Number(opt('batch', '64'));
  await initEngine({ backend: opt('engine', 'wasm-ort') as 'wasm-ort' });
  const { config } = resolveConfig(file);
  seedInit(0);
  const model = registries.model.build(config.model, {}, 'model') as Algorithm;
  model.train();
  const train = (config.data as { train: { views: Array<{ num: number; pipeline: Array<{ type: string; size?: number }> }> } }).train;
  const channels = model.backbone.inChannels;
  const sizes = train.views.flatMap((v) => Array.from({ length: v.num }, () => v.pipeline.find((s) => s.size)?.size ?? 28));
  const views = sizes.map((s) => tf.randomNormal([batch, s, s, channels]) as tf.Tensor4D);
  const progress = { iter: 0, epoch: 0, maxIters: 100, itersPerEpoch: 100 };
  const step = () => {
    seedStep(0, 0);
    const { value, grads } = tf.variableGrads(() => model.trainStep({ views, raw: undefined as never }, progress).loss, model.trainableVariables());
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const t0 = performance.now();
  const info = await tf.profile(step);
  const wall = performance.now() - t0;
  const by = new Map<string, { calls: number; ms: number }>();
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    by.set(k.name, e);
  }
  const rows = [...by].sort((a, b) => b[1].ms - a[1].ms);
  const covered = rows.reduce((s, [, e]) => s + e.ms, 0);
  process.stdout.write(`${file}: batch ${batch}, views ${sizes.join('/')}, step ${wall.toFixed(0)} ms (${((batch * 1000) / wall).toFixed(1)} samples/s), kernels ${covered.toFixed(0)} ms\n`);
  for (const [name, e] of rows.slice(0, 15)) process.stdout.write(`  ${name.padEnd(28)} ${String(e.calls).padStart(5)} calls ${e.ms.toFixed(0).padStart(7)} ms\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
