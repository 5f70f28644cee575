import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { ensureGradients } from '../../src/engine/gradients';
import { installKernels, WASM_TRAINING_KERNELS } from '../../src/engine/kernels';
import '../../src/builtins';
import { build } from '../../src/core/registry';
import { seedInit } from '../../src/models/nn';
import type { YOLOX } from '../../src/models/algorithms/detection/yolox';

// The wasm engine with its training kernels (the cpu backend's convolution gradients take minutes).
beforeAll(async () => {
  ensureGradients();
  await tf.setBackend('wasm');
  installKernels(WASM_TRAINING_KERNELS);
});

describe('YOLOX training step', () => {
  it('one step on a small batch gives a finite loss, its parts, and gradients for every parameter', () => {
    seedInit(0);
    const m = build<YOLOX>('model', { type: 'YOLOX', size: 'nano', head: { type: 'YOLOXHead', num_classes: 3 }, multiscale: [64, 96] });
    const images = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const boxes = [[{ bbox: [4, 6, 20, 24] as [number, number, number, number], label: 0 }], [{ bbox: [30, 30, 28, 20] as [number, number, number, number], label: 2 }]];
    let logs: Record<string, number> = {};
    const { value, grads } = tf.variableGrads(() => {
      const out = m.trainStep({ views: [images], raw: { views: [], indices: new Int32Array(2), boxes } }, { iter: 0, epoch: 0, maxIters: 10, itersPerEpoch: 5 });
      logs = Object.fromEntries(Object.entries(out.logs!).map(([k, v]) => [k, v.dataSync()[0]]));
      return out.loss;
    }, m.trainableVariables());
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(logs.num_fg).toBeGreaterThanOrEqual(1);
    expect(logs.iou_loss).toBeGreaterThan(0);
    expect([64, 96]).toContain(logs.input_size);
    expect(Object.keys(grads)).toHaveLength(m.trainableVariables().length);
    for (const g of Object.values(grads)) expect(g.dataSync().every(Number.isFinite)).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    m.dispose();
  });

});
