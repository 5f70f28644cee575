/**
 * Step parity with PyTorch (issue 22, point 1): one training step of a self-supervised algorithm
 * here, the same step in a PyTorch script written from the paper and the authors' code
 * (test/selfsup/parity/*_reference.py) from the same weights and views, and a comparison of the
 * loss, every gradient and the state after the step (online and target weights, batch-norm
 * statistics, queues).
 *
 * Tensors travel as <name>.json (manifest: name, shape, offset) + <name>.f32 (little-endian
 * float32), in the toolkit's layouts; test/selfsup/parity/nets.py converts them for PyTorch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { build } from '../../../src/core/registry';
import { seedStep } from '../../../src/models/nn';
import type { Algorithm, TensorBatch } from '../../../src/models/algorithms/types';
import type { OptimizerFactory } from '../../../src/train/optimizers/optimizer';
import type { IterOutput, RunnerApi } from '../../../src/train/hook';
import { PYTHON } from '../../data/python';

export function writeTensors(folder: string, name: string, tensors: Map<string, tf.Tensor>): void {
  const manifest: Array<{ name: string; shape: number[]; offset: number }> = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [n, t] of tensors) {
    const data = Float32Array.from(t.dataSync());
    manifest.push({ name: n, shape: t.shape, offset });
    chunks.push(data);
    offset += data.length;
  }
  const all = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  fs.writeFileSync(path.join(folder, `${name}.json`), JSON.stringify(manifest));
  fs.writeFileSync(path.join(folder, `${name}.f32`), Buffer.from(all.buffer));
}

export function readTensors(folder: string, name: string): Map<string, { shape: number[]; data: Float32Array }> {
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, `${name}.json`), 'utf8')) as Array<{ name: string; shape: number[]; offset: number }>;
  const buf = fs.readFileSync(path.join(folder, `${name}.f32`));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of manifest) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    out.set(e.name, { shape: e.shape, data: all.slice(e.offset, e.offset + n) });
  }
  return out;
}

/** Copies of a model's parameters and buffers, by name (a snapshot that later steps do not change). */
export function snapshot(model: Algorithm): Map<string, tf.Tensor> {
  return new Map([...model.stateDict()].map(([n, v]) => [n, v.clone()]));
}

export interface StepResult {
  loss: number;
  /** Gradient of every trainable parameter, by parameter name. */
  grads: Map<string, tf.Tensor>;
  /** Parameters and buffers after the optimizer step and the algorithm's hooks. */
  after: Map<string, tf.Tensor>;
}

/**
 * One step as the runner takes it (src/train/runner.ts `step` and `run`): the gradient of the loss
 * over the trainable variables, the optimizer step, then the hooks' afterIter (momentum update),
 * as 0-based iteration `iter` of `maxIters`.
 */
export function oneStep(model: Algorithm, batch: TensorBatch, optimizer: Record<string, unknown>, iter: number, maxIters: number): StepResult {
  const opt = build<OptimizerFactory>('optimizer', optimizer)(model.namedParameters());
  const hooks = model.hooks?.() ?? [];
  const runner = { maxIters, itersPerEpoch: maxIters, epoch: 0, iter, optimizer: opt } as unknown as RunnerApi & { iter: number };
  for (const h of hooks) h.beforeRun?.(runner);
  for (const h of hooks) h.beforeIter?.(runner);
  model.train();
  seedStep(0, iter);
  const progress = { iter, epoch: 0, maxIters, itersPerEpoch: maxIters };
  const vars = model.trainableVariables();
  const { value, grads } = tf.variableGrads(() => model.trainStep(batch, progress).loss, vars);
  const loss = value.dataSync()[0];
  const byVariable = new Map(model.namedParameters().map(([n, p]) => [p.variable.name, n]));
  const named = new Map<string, tf.Tensor>();
  for (const [v, g] of Object.entries(grads)) named.set(byVariable.get(v)!, g.clone());
  opt.step(grads, optimizer.lr as number);
  tf.dispose([value, ...Object.values(grads)]);
  runner.iter = iter + 1;
  const out: IterOutput = { loss, logs: {}, samples: batch.views[0].shape[0], lr: optimizer.lr as number, seconds: 0, dataSeconds: 0 };
  for (const h of hooks) h.afterIter?.(runner, out);
  opt.dispose();
  return { loss, grads: named, after: snapshot(model) };
}

/** Run a reference script on the exchange folder (throws with its stderr when it fails). */
export function runReference(script: string, folder: string): void {
  const r = spawnSync(PYTHON, [path.join(__dirname, script), folder], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr}`);
}

/**
 * Relative error of `actual` against `expected`: the L2 norm of the difference over the L2 norm of
 * `expected` (a tensor-wise measure: a gradient summed over many tokens loses a few float32 digits
 * in entries that nearly cancel, which an entry-wise maximum would judge alone); `floor` is the
 * smallest norm considered.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 0): number {
  if (actual.length !== expected.length) return Infinity;
  let err = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    err += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  const scale = Math.max(Math.sqrt(norm), floor);
  return scale > 0 ? Math.sqrt(err) / scale : Math.sqrt(err) === 0 ? 0 : Infinity;
}

/** L2 norm of a tensor's values. */
export function l2(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] ** 2;
  return Math.sqrt(s);
}

/**
 * Names whose relative error exceeds `tol`, with the error (for the assertion message); `compared`
 * counts the names checked. A tensor whose reference norm is at most `zeroBelow` is zero in exact
 * arithmetic (the float64 reference says so: a bias right before a batch norm gets no gradient);
 * it is judged at the scale `zeroScale` instead of its own norm, since float32 leaves noise there.
 */
export function compare(
  ours: Map<string, tf.Tensor>,
  theirs: Map<string, { shape: number[]; data: Float32Array }>,
  tol: number,
  zero: { below: number; scale: number },
): { failures: string[]; missing: string[]; compared: number; worst: number; worstName: string } {
  const failures: string[] = [];
  const missing: string[] = [];
  let worst = 0;
  let worstName = '';
  let compared = 0;
  for (const [name, t] of ours) {
    const ref = theirs.get(name);
    if (!ref) {
      missing.push(name);
      continue;
    }
    compared++;
    const e = relativeError(t.dataSync() as Float32Array, ref.data, l2(ref.data) <= zero.below ? zero.scale : 0);
    if (e > worst) {
      worst = e;
      worstName = name;
    }
    if (!(e <= tol)) failures.push(`${name}: relative error ${e.toExponential(2)}`);
  }
  return { failures, missing, compared, worst, worstName };
}
