/**
 * The eight self-supervised algorithms on the webgpu engine (issue 17: everything trains on it):
 * the tiny configurations of test/selfsup/algorithms.test.ts, two optimizer steps with their hooks
 * (momentum encoders, queues, centres, prototypes), the same seed and batch on webgpu and on the
 * wasm engine: the losses agree. The second step's loss follows from the first step's gradients
 * and hook updates, so it checks those too. On Mesa's software adapter (as webgpu.test.ts) a case
 * takes a few seconds, most of it compiling shaders; without an adapter the cases are skipped.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { initEngine } from '../../src/engine';
import { probeWebgpu, type WebgpuProbe } from '../../src/engine/webgpu';
import { seedInit } from '../../src/models/nn';
import type { Algorithm } from '../../src/models/algorithms/types';
import { cases, trainSteps, views } from '../selfsup/tinyAlgorithms';

const STEPS = 2;
/**
 * Relative, per step. The first loss is the forward pass alone (measured here: within 1e-6). The
 * second follows an update (LARS at lr 0.5 for SimCLR) that magnifies float32 summation order:
 * measured within 7e-5 (BYOL 6e-5, SimCLR 5e-5); a wrong gradient moves it by far
 * more (SimCLR's loss falls by a third in that step).
 */
const TOLERANCE = [2e-5, 5e-4];

async function losses(engine: 'wasm' | 'webgpu', c: (typeof cases)[number]): Promise<number[]> {
  await initEngine({ backend: engine });
  seedInit(0);
  const model = build<Algorithm>('model', c.model);
  model.train();
  const batch = { views: views(c.sizes), raw: undefined as never };
  const out = await trainSteps(model, batch, c.optimizer, STEPS);
  tf.dispose(batch.views);
  model.dispose();
  return out;
}

let probe: WebgpuProbe;

describe('self-supervised algorithms on the webgpu engine: two steps with the wasm engine\'s losses', () => {
  beforeAll(async () => {
    probe = await probeWebgpu();
    if (!probe.available) console.warn(`webgpu self-supervised tests skipped: ${probe.note}`);
  });
  beforeEach((ctx) => {
    if (!probe.available) ctx.skip();
  });

  for (const c of cases) {
    it(c.name, async () => {
      const want = await losses('wasm', c);
      const got = await losses('webgpu', c);
      expect(tf.getBackend()).toBe('webgpu');
      expect(got).toHaveLength(STEPS);
      for (const [i, l] of got.entries()) {
        expect(Number.isFinite(l), `step ${i}`).toBe(true);
        expect(Math.abs(l - want[i]), `step ${i}: webgpu ${l}, wasm ${want[i]}`).toBeLessThan(TOLERANCE[i] * Math.max(1, Math.abs(want[i])));
      }
    }, 60_000);
  }
});
