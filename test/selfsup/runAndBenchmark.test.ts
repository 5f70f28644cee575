/**
 * End to end: pre-train SimCLR for a few iterations with the real runner on the committed
 * Fashion-MNIST sample (from its config under configs/selfsup), then benchmark the run with kNN and
 * a linear probe and extract its features, as `cvw benchmark` and `cvw extract` do.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/builtins';
import { train } from '../../src/train/train';
import { benchmarkKnn, benchmarkLinear, extractFeatures } from '../../src/eval/benchmark';
import { readNpy } from '../../src/eval/npy';
import { parseArgs } from '../../src/cli/args';
import { benchmarkKnnCommand } from '../../src/cli/commands/benchmark';
import { tempFiles } from '../helpers/tmp';

const root = path.resolve(__dirname, '../..');
const sample = path.join(root, 'data/fashion-mnist-sample');
const t = tempFiles({});
afterAll(() => t.cleanup());

const o = (key: string, value: string) => ({ key, value, arg: `--${key} ${value}` });
const overrides = [
  o('engine.backend', 'wasm'),
  o('data.workers', '0'),
  o('data.train.source.root', sample),
  o('data.val.source.root', sample),
  o('data.train.batch_size', '32'),
  o('model.backbone.base_width', '4'),
  o('model.neck.hid_channels', '16'),
  o('model.neck.out_channels', '8'),
];

function metricLines(dir: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('pre-train, then benchmark the run', () => {
  const run = path.join(t.dir, 'simclr');

  it('trains SimCLR from configs/selfsup with the kNN monitor', async () => {
    const result = await train(path.join(root, 'configs/selfsup/simclr/simclr_resnet18_fashion_mnist_sample.yaml'), { workDir: run, quiet: true, maxIters: 3, overrides });
    expect(result.status).toBe('finished');
    expect(result.metrics['val/knn_top1']).toBeGreaterThan(0.1);
    expect(fs.existsSync(path.join(run, 'checkpoints', 'latest.safetensors'))).toBe(true);
  }, 240_000);

  it('cvw benchmark knn: weighted kNN of the test set against the training set, in benchmarks/knn.json and metrics.jsonl', async () => {
    const r = await benchmarkKnn(run, { k: 20, temperature: 0.1 });
    expect(r.file).toBe(path.join(run, 'benchmarks', 'knn.json'));
    const saved = JSON.parse(fs.readFileSync(r.file, 'utf8'));
    expect(saved).toMatchObject({ benchmark: 'knn', k: 20, temperature: 0.1, iter: 3, train: { count: 2000 }, test: { count: 500 }, feature_dim: 32 });
    expect(saved.metrics.knn_top1).toBeGreaterThan(0.3);
    expect(saved.per_class_accuracy).toHaveLength(10);
    const line = metricLines(run).find((m) => m.split === 'benchmark');
    expect(line).toMatchObject({ benchmark: 'knn', iter: 3, knn_top1: saved.metrics.knn_top1 });
    // Features were cached for the next benchmark.
    expect(fs.readdirSync(path.join(run, 'benchmarks', 'features')).filter((f) => f.endsWith('.npy'))).toHaveLength(2);
  }, 240_000);

  it('cvw benchmark linear: a linear probe on the cached frozen features', async () => {
    const logs: string[] = [];
    const r = await benchmarkLinear(run, { epochs: 3, lr: 0.1, log: (m) => logs.push(m) });
    expect(logs.some((l) => /cached features/.test(l))).toBe(true);
    const saved = JSON.parse(fs.readFileSync(path.join(run, 'benchmarks', 'linear.json'), 'utf8'));
    expect(saved).toMatchObject({ benchmark: 'linear', epochs: 3, seed: 0 });
    expect(saved.history).toHaveLength(3);
    expect(r.metrics.linear_top1).toBeGreaterThan(0.4);
    expect(metricLines(run).filter((m) => m.split === 'benchmark').map((m) => m.benchmark)).toEqual(['knn', 'linear']);
    // Another seed: another initialisation and batch order (the spread of the result), recorded.
    const other = await benchmarkLinear(run, { epochs: 3, lr: 0.1, seed: 1, outDir: path.join(t.dir, 'seed1') });
    expect(other.result).toMatchObject({ seed: 1 });
    expect((other.result.history as Array<{ loss: number }>)[0].loss).not.toBe(saved.history[0].loss);
  }, 240_000);

  it('benchmarks the first images of each set on request (slow encoders), caching them apart', async () => {
    const r = await benchmarkKnn(run, { k: 20, trainLimit: 300, testLimit: 100, outDir: path.join(t.dir, 'limited') });
    expect(r.result).toMatchObject({ train: { count: 300, limit: 300 }, test: { count: 100, limit: 100 } });
    expect(r.metrics.knn_top1).toBeGreaterThan(0.2);
  }, 240_000);

  it('--pool 2: the last map pooled to a 2x2 grid (4x the channels), recorded and cached apart from the global pool', async () => {
    const r = await benchmarkLinear(run, { epochs: 3, pool: 2, outDir: path.join(t.dir, 'pooled') });
    expect(r.result).toMatchObject({ benchmark: 'linear_pool2', pool: 2, feature_dim: 128 });
    expect(r.file).toBe(path.join(t.dir, 'pooled', 'linear_pool2.json'));
    expect(r.metrics.linear_top1).toBeGreaterThan(0.4);
    const again = await benchmarkKnn(run, { k: 20, outDir: path.join(t.dir, 'pooled') });
    expect(again.result).toMatchObject({ benchmark: 'knn', pool: 1, feature_dim: 32 });
    expect(fs.readdirSync(path.join(t.dir, 'pooled', 'features')).filter((f) => f.endsWith('.npy'))).toHaveLength(4);
  }, 240_000);

  it('cvw extract: features and an index for retrieval', async () => {
    const out = path.join(t.dir, 'features');
    const r = await extractFeatures(path.join(run, 'checkpoints', 'latest.safetensors'), { out, splits: ['val'] });
    expect(r.counts).toEqual({ val: 500 });
    const f = readNpy(path.join(out, 'val.npy'));
    expect(f.shape).toEqual([500, 32]);
    const index = JSON.parse(fs.readFileSync(path.join(out, 'val.json'), 'utf8'));
    expect(index.labels).toHaveLength(500);
    expect(index.where[0]).toMatch(/t10k-images-idx3-ubyte.gz\[0\]$/);
  }, 240_000);

  it('rejects bad options and missing runs with clear messages', async () => {
    expect(() => parseArgs(benchmarkKnnCommand, [run, '--k', '0'])).toThrow(/--k must be a positive integer/);
    expect(() => parseArgs(benchmarkKnnCommand, [run, '--pool', '1.5'])).toThrow(/--pool must be a positive integer, got 1.5/);
    await expect(benchmarkKnn(path.join(t.dir, 'nowhere'))).rejects.toThrow(/no such run directory or checkpoint/);
  });
});
