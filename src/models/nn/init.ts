/**
 * Weight initialisers, drawn from the toolkit's seeded generator so that the same seed gives the
 * same initial weights on every engine (TensorFlow.js' own initialisers depend on the backend).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Random } from '../../core/random';
import { ComponentError } from '../../core/problems';
import { gigabytes } from '../../core/format';

let rng = new Random(0);

/** Seed every initialiser that follows (the trainer seeds from `seed` before building the model). */
export function seedInit(seed: number): void {
  rng = new Random(seed ^ 0x5eed);
}

/**
 * Most values one parameter may hold: 2^28 (1 GiB of float32), a hundred times the largest of
 * the models here (a ViT-g MLP, 1408 x 6144). Beyond it is a size typed wrong (`num_classes: 1e8`
 * drew 12.6 GB of weights for 70 s before an allocation failed).
 */
export const MAX_PARAMETER_VALUES = 2 ** 28;

/**
 * Most blocks one stack of a model may have (`depth`, `depths`, `decoder_depth`, `num_convs`): five
 * times the deepest here (ViT-G's 48). Past it is a count typed wrong, and the model never
 * finishes building however small its widths (`depth: 100000` ran the heap out after 30 s).
 */
export const MAX_BLOCKS = 256;

/** A config's count of blocks in one stack: an integer from `min` to MAX_BLOCKS. */
export function blockCount(min = 1) {
  return z.number().int().min(min).max(MAX_BLOCKS);
}

/** The values drawn so far in the model build under way (withParameterBudget), its limit and what the limit is. */
let budget: { drawn: number; limit: number; what: string } | undefined;

/**
 * Run `build` with every initialiser below counting into one total, refused before the value
 * that would pass `limit` (`what` says what the limit is, for the message). Each parameter and
 * each stack is bounded, but a model both wide and deep could still draw all the memory there is,
 * a gigabyte at a time.
 */
export function withParameterBudget<T>(limit: number, what: string, build: () => T): T {
  const outer = budget;
  budget = { drawn: 0, limit, what };
  try {
    return build();
  } finally {
    budget = outer;
  }
}

/** The values of a parameter of `shape`, refused past MAX_PARAMETER_VALUES or the build's budget before anything is allocated. */
function valuesOf(shape: number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_PARAMETER_VALUES) {
    throw new ComponentError(
      `a parameter of shape [${shape}] would hold ${n.toLocaleString('en')} values (${gigabytes(4 * n)} GB), more than the ${MAX_PARAMETER_VALUES.toLocaleString('en')} one tensor may hold: ` +
        'lower the sizes that make it (number of classes, widths such as embed_dim or channels, image size)',
    );
  }
  if (budget) {
    if (budget.drawn + n > budget.limit) {
      throw new ComponentError(
        `the model's parameters pass ${budget.limit.toLocaleString('en')} values (${gigabytes(4 * budget.limit)} GB) while it is built, ${budget.what}: ` +
          'lower its depth or widths (embed_dim, channels, number of classes)',
      );
    }
    budget.drawn += n;
  }
  return n;
}

export function normal(shape: number[], std: number, mean = 0): tf.Tensor {
  const n = valuesOf(shape);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal(mean, std);
  return tf.tensor(data, shape, 'float32');
}

/** Normal truncated at two standard deviations (ViT, DINO: std 0.02). */
export function truncNormal(shape: number[], std: number): tf.Tensor {
  const n = valuesOf(shape);
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
  const n = valuesOf(shape);
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
  valuesOf(shape);
  return tf.zeros(shape);
}

export function ones(shape: number[]): tf.Tensor {
  valuesOf(shape);
  return tf.ones(shape);
}
