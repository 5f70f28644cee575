/**
 * A small dilated residual network (the toolkit's Conv2d layer with dilation 2, dense and depthwise,
 * as a DeepLab-style backbone at output stride 8 uses them) trains on every engine: its first SGD
 * step's gradients equal the cpu backend's, and 15 steps on one batch bring the loss well down.
 * Before the dilated gradients (src/engine/dilatedGradients.ts) its first step threw "dilation
 * rates greater than 1 are not yet supported".
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import { batchNormTrain } from '../../src/engine/ops/batchNorm';
import { Conv2d } from '../../src/models/nn/layers';
import { maxAbsDiff, randomValues } from './kernelHarness';
import { startableFuzzEngines, type FuzzEngine } from './engineFuzz';

interface Net {
  params: tf.Variable[];
  loss(x: tf.Tensor4D, labels: tf.Tensor1D): tf.Scalar;
}

function dilatedNet(): Net {
  const stem = new Conv2d(3, 8, 3, { stride: 2 });
  const dilated = new Conv2d(8, 8, 3, { dilation: 2 });
  const depthwise = new Conv2d(8, 8, 3, { dilation: 2, groups: 8 });
  const head = new Conv2d(8, 4, 1, { padding: 0, bias: true });
  const gamma = tf.variable(tf.ones([8])) as tf.Variable<tf.Rank.R1>;
  const beta = tf.variable(tf.zeros([8])) as tf.Variable<tf.Rank.R1>;
  return {
    params: [stem.weight, dilated.weight, depthwise.weight, head.weight, head.bias!, gamma, beta],
    loss(x, labels) {
      const h = tf.relu(stem.forward(x));
      const r = tf.relu(batchNormTrain(dilated.forward(h), gamma, beta, 1e-5).y);
      const y = tf.add(h, depthwise.forward(r)) as tf.Tensor4D;
      const logits = tf.mean(head.forward(y), [1, 2]) as tf.Tensor2D;
      return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 4), logits) as tf.Scalar;
    },
  };
}

async function train(engine: 'cpu' | FuzzEngine, steps: number): Promise<{ losses: number[]; firstGrads: Float32Array[] }> {
  await initEngine({ backend: engine, threads: 1 });
  const net = dilatedNet();
  // The same initial weights on every engine.
  net.params.forEach((p, i) => {
    const values = (randomValues(p.shape, 40 + i) as Float32Array).map((v) => (p.shape.length === 1 ? 0.1 * v : 0.3 * v));
    if (i === 5) values.forEach((v, j) => (values[j] = 1 + v)); // gamma
    tf.tidy(() => p.assign(tf.tensor(values, p.shape)));
  });
  const x = tf.tensor4d(randomValues([8, 16, 16, 3], 1) as Float32Array, [8, 16, 16, 3]);
  const labels = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
  const losses: number[] = [];
  let firstGrads: Float32Array[] = [];
  for (let step = 0; step < steps; step++) {
    const { value, grads } = tf.variableGrads(() => net.loss(x, labels), net.params);
    losses.push((await value.data())[0]);
    if (step === 0) firstGrads = await Promise.all(net.params.map(async (p) => Float32Array.from(await grads[p.name].data())));
    tf.tidy(() => net.params.forEach((p) => p.assign(tf.sub(p, tf.mul(grads[p.name], 1)))));
    tf.dispose([value, ...Object.values(grads)]);
  }
  tf.dispose([x, labels, ...net.params]);
  return { losses, firstGrads };
}

describe('a dilated residual network trains on every engine', () => {
  it('first-step gradients equal the cpu backend; 15 steps more than halve the loss', async () => {
    const reference = await train('cpu', 1);
    for (const engine of await startableFuzzEngines()) {
      const { losses, firstGrads } = await train(engine, 15);
      expect(Math.abs(losses[0] - reference.losses[0]), engine).toBeLessThan(1e-4);
      firstGrads.forEach((g, i) => {
        const { diff, scale } = maxAbsDiff(g, reference.firstGrads[i]);
        expect(scale, `${engine} parameter ${i}: an all-zero gradient proves nothing`).toBeGreaterThan(0);
        expect(diff, `${engine} gradient of parameter ${i}`).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
      });
      expect(losses.every(Number.isFinite), `${engine} losses ${losses}`).toBe(true);
      expect(losses[losses.length - 1], `${engine} losses ${losses.map((l) => l.toFixed(3))}`).toBeLessThan(0.5 * losses[0]);
    }
  });
});
