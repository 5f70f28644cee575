/**
 * layerNormTrain and geluTrain (src/engine/ops/): values and gradients against TensorFlow.js' own
 * autodiff of the textbook formulas, on the cpu and wasm-ort engines (where each direction is one
 * onnxruntime kernel: the test checks they ran), and the LayerNorm layer switching to the closed
 * form in training mode only.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine';
import { layerNormTrain } from '../../src/engine/ops/layerNorm';
import { LayerNorm, gelu } from '../../src/models/nn/layers';
import { geluTrain } from '../../src/engine/ops/gelu';
import { maxAbsDiff, randomValues } from './kernelHarness';

function textbook(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

describe('layerNormTrain', () => {
  for (const engine of ['cpu', 'wasm-ort'] as const) {
    for (const shape of [[6, 16], [2, 5, 24], [3, 65, 384]]) {
      it(`equals autodiff of the textbook formula on ${engine}, x ${shape}`, async () => {
        await initEngine({ backend: engine });
        const d = shape[shape.length - 1];
        const x = tf.tensor(Float32Array.from(randomValues(shape, 1), (v) => 3 * v + 1), shape);
        const gamma = tf.tensor1d(Float32Array.from(randomValues([d], 2), (v) => 1 + 0.5 * v));
        const beta = tf.tensor1d(randomValues([d], 3));
        const dy = tf.tensor(randomValues(shape, 4), shape);
        const run = (f: typeof textbook) => {
          const value = tf.tidy(() => f(x, gamma, beta, 1e-6).dataSync());
          const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, g, b, 1e-6), dy)))([x, gamma, beta]);
          return [value, ...grads.map((t) => t.dataSync())];
        };
        const want = run(textbook);
        let got: ReturnType<typeof run> = [];
        const { kernelNames } = await tf.profile(() => {
          got = run((a, g, b, eps) => layerNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, eps));
        });
        const fused = ['CvwLayerNormTrain', 'CvwLayerNormTrainGrad'].filter((k) => kernelNames.includes(k));
        expect(fused).toEqual(engine === 'wasm-ort' ? ['CvwLayerNormTrain', 'CvwLayerNormTrainGrad'] : []);
        ['value', 'dx', 'dgamma', 'dbeta'].forEach((name, i) => {
          const { diff, scale } = maxAbsDiff(got[i] as Float32Array, want[i] as Float32Array);
          expect(diff, name).toBeLessThanOrEqual(2e-5 * Math.max(1, scale));
        });
        tf.dispose([x, gamma, beta, dy]);
      });
    }
  }

  it('LayerNorm uses it in training mode only (its gradient is a single node of the tape)', async () => {
    await initEngine({ backend: 'cpu' });
    const norm = new LayerNorm(8);
    const x = tf.randomNormal([3, 8]);
    const kernelsOnTape = () => {
      const tape: string[] = [];
      const engine = tf.engine() as unknown as { state: { activeTape: Array<{ kernelName: string }> | null } };
      tf.grad((a: tf.Tensor) => {
        const y = tf.sum(norm.forward(a));
        tape.push(...(engine.state.activeTape ?? []).map((n) => n.kernelName));
        return y as tf.Scalar;
      })(x);
      return tape;
    };
    norm.train();
    const training = kernelsOnTape();
    norm.eval();
    const inference = kernelsOnTape();
    expect(training.filter((k) => k === 'Mean')).toEqual([]);
    expect(inference.filter((k) => k === 'Mean').length).toBeGreaterThan(0);
  });
});

describe('geluTrain', () => {
  for (const engine of ['cpu', 'wasm-ort'] as const) {
    it(`value and gradient equal autodiff of x·Φ(x) on ${engine}`, async () => {
      await initEngine({ backend: engine });
      const x = tf.tensor(Float32Array.from(randomValues([4, 33], 5), (v) => 2.5 * v), [4, 33]);
      const dy = tf.tensor(randomValues([4, 33], 6), [4, 33]);
      const run = (f: (t: tf.Tensor) => tf.Tensor) => [tf.tidy(() => f(x).dataSync()), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), dy)))(x).dataSync()];
      const want = run(gelu);
      let got: ReturnType<typeof run> = [];
      const { kernelNames } = await tf.profile(() => {
        got = run(geluTrain);
      });
      const fused = ['CvwGelu', 'CvwGeluGrad'].filter((k) => kernelNames.includes(k));
      expect(fused).toEqual(engine === 'wasm-ort' ? ['CvwGelu', 'CvwGeluGrad'] : []);
      ['value', 'dx'].forEach((name, i) => {
        const { diff, scale } = maxAbsDiff(got[i] as Float32Array, want[i] as Float32Array);
        expect(diff, name).toBeLessThanOrEqual(2e-5 * Math.max(1, scale));
      });
      tf.dispose([x, dy]);
    });
  }
});
