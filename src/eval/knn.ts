/**
 * Weighted k-nearest-neighbour classification of features, the monitor and benchmark of
 * self-supervised learning (Wu et al., Unsupervised Feature Learning via Non-Parametric Instance
 * Discrimination, CVPR 2018, arXiv:1805.01978, Section 3.4; as lightly's `knn_predict` and
 * InstDisc/DINO report it): features are L2-normalised, each query takes its k most similar
 * memory-bank features (cosine similarity s_i), and each class scores sum_i exp(s_i / T) over the
 * neighbours of that class. k = 200 and T = 0.1 are the usual values.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { register } from '../core/registry';
import { UserError } from '../core/problems';
import type { EvalContext, Evaluator, Predictions } from './evaluator';

export interface KnnOptions {
  k: number;
  temperature: number;
  /** Queries per block of the similarity matrix (memory: block x bank floats). */
  chunk?: number;
  /** The queries are the bank itself: leave each one out of its own neighbours. */
  leaveOneOut?: boolean;
}

export interface KnnResult {
  /** Class scores `[queries, classes]`, row-major (rank them for top-k). */
  scores: Float32Array;
  numClasses: number;
}

/** Rows scaled to unit length, in place on a copy. */
export function normalizeRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[r * dim + j] ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < dim; j++) out[r * dim + j] = x[r * dim + j] * inv;
  }
  return out;
}

/** Weighted kNN class scores of `queries` against the labelled `bank` (both `[n, dim]`, row-major). */
export function weightedKnn(bank: Float32Array, bankLabels: Int32Array, queries: Float32Array, dim: number, numClasses: number, o: KnnOptions): KnnResult {
  const nBank = bankLabels.length;
  const nQuery = queries.length / dim;
  if (bank.length !== nBank * dim) throw new Error(`kNN: the bank has ${bank.length / dim} feature rows but ${nBank} labels`);
  if (!(o.k >= 1)) throw new UserError(`kNN: k must be >= 1, got ${o.k}`);
  if (!(o.temperature > 0)) throw new UserError(`kNN: temperature must be > 0, got ${o.temperature}`);
  const k = Math.min(o.k, nBank - (o.leaveOneOut ? 1 : 0));
  if (k < 1) throw new UserError('kNN: the memory bank is too small');
  for (const l of bankLabels) if (l < 0 || l >= numClasses) throw new UserError(`kNN: the memory bank has label ${l}, outside 0..${numClasses - 1} (is the bank data labelled?)`);
  const scores = new Float32Array(nQuery * numClasses);
  const chunk = o.chunk ?? 256;
  const bankT = tf.tensor2d(normalizeRows(bank, dim), [nBank, dim]);
  const q = normalizeRows(queries, dim);
  try {
    for (let start = 0; start < nQuery; start += chunk) {
      const rows = Math.min(chunk, nQuery - start);
      const { values, indices } = tf.tidy(() => {
        let sim: tf.Tensor2D = tf.matMul(tf.tensor2d(q.subarray(start * dim, (start + rows) * dim), [rows, dim]), bankT, false, true);
        if (o.leaveOneOut) {
          // Each query's own row gets -inf similarity (queries are bank rows start..start+rows).
          const self = tf.oneHot(tf.range(start, start + rows, 1, 'int32'), nBank);
          sim = tf.sub(sim, tf.mul(self, 1e9)) as tf.Tensor2D;
        }
        const top = tf.topk(sim, k);
        return { values: top.values.dataSync() as Float32Array, indices: top.indices.dataSync() as Int32Array };
      });
      for (let r = 0; r < rows; r++) {
        const out = scores.subarray((start + r) * numClasses, (start + r + 1) * numClasses);
        for (let j = 0; j < k; j++) out[bankLabels[indices[r * k + j]]] += Math.exp(values[r * k + j] / o.temperature);
      }
    }
  } finally {
    bankT.dispose();
  }
  return { scores, numClasses };
}

/**
 * How many classes labelled samples have: the class names' count, else the largest label + 1.
 * A loop, not Math.max(...labels): an image list of ImageNet's 1.28 million labels overflows the
 * call stack as arguments.
 */
export function classCount(labels: Int32Array, classes?: string[]): number {
  if (classes) return classes.length;
  let max = -1;
  for (const l of labels) if (l > max) max = l;
  return max + 1;
}

/** Top-k accuracies of score rows against labels (ties broken towards the lower class index). */
export function topkAccuracy(scores: Float32Array, labels: Int32Array, numClasses: number, ks: number[]): Record<number, number> {
  const hits = Object.fromEntries(ks.map((k) => [k, 0])) as Record<number, number>;
  for (let i = 0; i < labels.length; i++) {
    const row = scores.subarray(i * numClasses, (i + 1) * numClasses);
    const label = labels[i];
    let rank = 0;
    for (let c = 0; c < numClasses; c++) if (row[c] > row[label] || (row[c] === row[label] && c < label)) rank++;
    for (const k of ks) if (rank < k) hits[k]++;
  }
  return Object.fromEntries(ks.map((k) => [k, labels.length ? hits[k] / labels.length : NaN]));
}

/** Accuracy of each class (NaN for classes without samples). */
export function perClassAccuracy(scores: Float32Array, labels: Int32Array, numClasses: number): number[] {
  const right = new Array<number>(numClasses).fill(0);
  const total = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const row = scores.subarray(i * numClasses, (i + 1) * numClasses);
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (row[c] > row[best]) best = c;
    total[labels[i]]++;
    if (best === labels[i]) right[labels[i]]++;
  }
  return total.map((t, c) => (t ? right[c] / t : NaN));
}

export const knnEvaluatorParams = z.strictObject({
  k: z.number().int().min(1).default(200).describe('Neighbours per query (200, as lightly and InstDisc report)'),
  temperature: z.number().gt(0, 'temperature must be > 0: use 0.1').default(0.1).describe('Weight exp(similarity / T) of each neighbour (0.1); > 0'),
  topk: z.array(z.number().int().min(1)).min(1).default([1, 5]).describe('Accuracies to report'),
});

/**
 * kNN accuracy during training, on one labelled split: every sample is classified by its
 * neighbours among the others (leave-one-out), so no second dataset is needed. The benchmark
 * (`cvw benchmark knn`) uses the training set as the memory bank instead.
 */
export class KNNEvaluator implements Evaluator {
  readonly name = 'KNNEvaluator';
  readonly needs = ['features' as const];

  constructor(readonly params: z.output<typeof knnEvaluatorParams>) {}

  evaluate(p: Predictions, ctx: EvalContext): Record<string, number> {
    if (!p.features || !p.dim) throw new UserError(`KNNEvaluator on "${ctx.name}": the model gave no features`);
    if (!p.labels || p.labels.some((l) => l < 0)) throw new UserError(`KNNEvaluator on "${ctx.name}": needs labelled data (every sample's class)`);
    const numClasses = classCount(p.labels, p.classes);
    const { scores } = weightedKnn(p.features, p.labels, p.features, p.dim, numClasses, { k: this.params.k, temperature: this.params.temperature, leaveOneOut: true });
    const acc = topkAccuracy(scores, p.labels, numClasses, this.params.topk.filter((k) => k <= numClasses));
    return Object.fromEntries(Object.entries(acc).map(([k, v]) => [`knn_top${k}`, v]));
  }
}

register('evaluator', {
  type: 'KNNEvaluator',
  description: 'Weighted kNN accuracy of the features (leave-one-out on the evaluated split): the usual monitor of self-supervised training',
  paper: 'Wu et al., Unsupervised Feature Learning via Non-Parametric Instance Discrimination, CVPR 2018, arXiv:1805.01978',
  params: knnEvaluatorParams,
  build: (p) => new KNNEvaluator(p),
});
