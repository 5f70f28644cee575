/**
 * Weight initialisers, drawn from the toolkit's seeded generator so that the same seed gives the
 * same initial weights on every engine (TensorFlow.js' own initialisers depend on the backend).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../../core/random';

let rng = new Random(0);

/** Seed every initialiser that follows (the trainer seeds from `seed` before building the model). */
export function seedInit(seed: number): void {
  rng = new Random(seed ^ 0x5eed);
}

export function normal(shape: number[], std: number, mean = 0): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal(mean, std);
  return tf.tensor(data, shape, 'float32');
}

/** Normal truncated at two standard deviations (ViT, DINO: std 0.02). */
export function truncNormal(shape: number[], std: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = rng.normal(0, 1);
    while (v < -2 || v > 2);
    data[i] = v * std;
  }
  return tf.tensor(data, shape, 'float32');
}

export function uniform(shape: number[], bound: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform(-bound, bound);
  return tf.tensor(data, shape, 'float32');
}

/** He et al. 2015: std = sqrt(2 / fan), the torchvision ResNet choice with fan = fan_out. */
export function kaimingNormal(shape: number[], fan: number): tf.Tensor {
  return normal(shape, Math.sqrt(2 / fan));
}

/** Glorot and Bengio 2010, uniform: bound = sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform(shape: number[], fanIn: number, fanOut: number): tf.Tensor {
  return uniform(shape, Math.sqrt(6 / (fanIn + fanOut)));
}

export function zeros(shape: number[]): tf.Tensor {
  return tf.zeros(shape);
}

export function ones(shape: number[]): tf.Tensor {
  return tf.ones(shape);
}
