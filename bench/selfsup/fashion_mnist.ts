/**
 * Quality of self-supervised pre-training on full Fashion-MNIST (BENCHMARKS.md, "Self-supervised"):
 * the linear probe and weighted kNN (k=200, T=0.1) of each pre-trained run, side by side with the
 * baselines measured in the same invocation on the same machine:
 *   - logistic regression on raw pixels with scikit-learn (the dataset paper reports 0.842),
 *   - this toolkit's linear probe on the same raw pixels (checks the probe itself),
 *   - the untrained encoder of each run's config (what pre-training adds over random features).
 *
 *   npm run build   # the data workers run the built modules
 *   nice -n 10 node -r sucrase/register bench/selfsup/fashion_mnist.ts [--root /usr/share/datasets/fashion-mnist]
 *       [--runs work_dirs/a/RUN,work_dirs/b/RUN] [--random-for RUN,...] [--no-raw] [--no-random] [--epochs 50] [--pool 2]
 *
 * The untrained baseline is measured for the runs of --random-for (default: every run). Runs named
 * in --limit-runs (slow encoders) are measured on the first --train-limit / --test-limit images.
 *
 * --pool N measures the last feature map average-pooled to an N x N grid (`cvw benchmark --pool`)
 * instead of the global average pool, for the runs and their untrained encoders alike.
 *
 * Prints a Markdown table (and JSON with --json).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import '../../src/builtins';
import { initEngine } from '../../src/engine';
import { registries } from '../../src/core/registry';
import { resolveConfig } from '../../src/core/check';
import type { Override } from '../../src/core/config/overrides';
import { seedInit } from '../../src/models/nn/init';
import type { Module } from '../../src/models/nn/module';
import { saveCheckpoint } from '../../src/train/checkpoint';
import { readRunInfo, runDurationMs, runFile } from '../../src/rundir';
import { benchmarkKnn, benchmarkLinear } from '../../src/eval/benchmark';
import { probeScores, trainLinearProbe } from '../../src/eval/linearProbe';
import { topkAccuracy } from '../../src/eval/knn';

const args = process.argv.slice(2);
const opt = (name: string, fallback?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const flag = (name: string) => args.includes(`--${name}`);
const root = opt('root', '/usr/share/datasets/fashion-mnist')!;
const epochs = Number(opt('epochs', '50'));
const runs = (opt('runs', '') ?? '').split(',').filter(Boolean);
const limitRuns = new Set((opt('limit-runs', '') ?? '').split(',').filter(Boolean).map((r) => path.resolve(r)));
const limits = { trainLimit: Number(opt('train-limit', '10000')), testLimit: Number(opt('test-limit', '10000')) };
const pool = Number(opt('pool', '1'));
const randomFor = new Set((opt('random-for', '') ?? '').split(',').filter(Boolean).map((r) => path.resolve(r)));

interface Row {
  what: string;
  algorithm: string;
  encoder: string;
  epochs: string;
  train_time: string;
  knn?: number;
  linear?: number;
  note?: string;
}

function idx(file: string, kind: 'images' | 'labels'): Uint8Array {
  const buf = zlib.gunzipSync(fs.readFileSync(path.join(root, file)));
  // The length too: a Buffer can sit in a larger pooled ArrayBuffer, whose tail is not this file.
  const header = kind === 'images' ? 16 : 8;
  return new Uint8Array(buf.buffer, buf.byteOffset + header, buf.length - header);
}

function rawPixels(): { xtr: Float32Array; ytr: Int32Array; xte: Float32Array; yte: Int32Array } {
  const f = (u: Uint8Array) => Float32Array.from(u, (v) => v / 255);
  return {
    xtr: f(idx('train-images-idx3-ubyte.gz', 'images')),
    ytr: Int32Array.from(idx('train-labels-idx1-ubyte.gz', 'labels')),
    xte: f(idx('t10k-images-idx3-ubyte.gz', 'images')),
    yte: Int32Array.from(idx('t10k-labels-idx1-ubyte.gz', 'labels')),
  };
}

const SKLEARN = `
import gzip, sys, time, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
r = sys.argv[1]
def load(k):
    with gzip.open(f'{r}/{k}-images-idx3-ubyte.gz') as f: x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784) / 255.0
    with gzip.open(f'{r}/{k}-labels-idx1-ubyte.gz') as f: y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y
xtr, ytr = load('train'); xte, yte = load('t10k')
t = time.time()
s = StandardScaler().fit(xtr)
clf = LogisticRegression(max_iter=200, C=1.0).fit(s.transform(xtr), ytr)
print(f'{clf.score(s.transform(xte), yte):.4f} {time.time() - t:.0f}')
`;

function duration(info: { started: string; ended?: string; paused_s?: number }): string {
  if (!info.ended) return '?';
  const s = runDurationMs(Date.parse(info.started), Date.parse(info.ended), info.paused_s) / 1000;
  return s > 3600 ? `${(s / 3600).toFixed(1)} h` : `${Math.round(s / 60)} min`;
}

const dataOverrides = (): Override[] => [
  { key: 'data.train.source.root', value: root, arg: `--data.train.source.root ${root}` },
  { key: 'data.val.source.root', value: root, arg: `--data.val.source.root ${root}` },
];

async function main(): Promise<void> {
  const engine = await initEngine({ backend: (opt('backend', 'auto') as 'auto') ?? 'auto', device: 'cpu', threads: 0 });
  const rows: Row[] = [];
  process.stderr.write(`engine: ${engine.summary}\nmachine: ${os.cpus().length} x ${os.cpus()[0]?.model}, load ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}\n`);

  if (!flag('no-raw')) {
    const py = spawnSync('/usr/bin/python3', ['-c', SKLEARN, root], { encoding: 'utf8' });
    const [sk, skSeconds] = py.status === 0 ? py.stdout.trim().split(' ') : ['n/a', '0'];
    rows.push({ what: 'baseline', algorithm: 'logistic regression (scikit-learn, lbfgs, standardised pixels)', encoder: 'raw pixels (784)', epochs: '-', train_time: `${skSeconds} s`, linear: Number(sk) });
    const { xtr, ytr, xte, yte } = rawPixels();
    const started = Date.now();
    const probe = trainLinearProbe(xtr, ytr, 784, 10, { epochs, batchSize: 256, lr: 0.1, weightDecay: 0, seed: 0 });
    const acc = topkAccuracy(probeScores(probe, xte), yte, 10, [1])[1];
    rows.push({ what: 'baseline', algorithm: `cvw linear probe (${epochs} epochs)`, encoder: 'raw pixels (784)', epochs: '-', train_time: `${Math.round((Date.now() - started) / 1000)} s`, linear: acc });
  }

  for (const run of runs) {
    const info = readRunInfo(run);
    const { config } = resolveConfig(runFile(run, 'config'));
    const model = config.model as { type: string; backbone: { type: string; base_width?: number; arch?: string } };
    const encoder = `${model.backbone.type}${model.backbone.base_width ? ` w${model.backbone.base_width}` : ''}${model.backbone.arch ? ` ${model.backbone.arch}` : ''}${pool > 1 ? `, ${pool}x${pool} pool` : ''}`;
    if (!flag('no-random') && (randomFor.size === 0 || randomFor.has(path.resolve(run)))) {
      // The same architecture, untrained: what the features are worth before pre-training.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-random-'));
      seedInit(config.seed as number);
      const m = registries.model.build(config.model, {}, 'model') as Module;
      const ckpt = path.join(dir, 'random.safetensors');
      const tensors = new Map([...m.stateDict()].map(([k, v]) => [`model.${k}`, v as import('@tensorflow/tfjs-core').Tensor]));
      saveCheckpoint(ckpt, tensors, { iter: 0, epoch: 0, config });
      m.dispose();
      const knn = await benchmarkKnn(ckpt, { overrides: dataOverrides(), outDir: path.join(dir, 'benchmarks'), pool });
      const lin = await benchmarkLinear(ckpt, { overrides: dataOverrides(), outDir: path.join(dir, 'benchmarks'), epochs, pool });
      rows.push({ what: 'random init', algorithm: model.type, encoder, epochs: '0', train_time: '-', knn: knn.metrics.knn_top1, linear: lin.metrics.linear_top1 });
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const limited: { trainLimit?: number; testLimit?: number } = limitRuns.has(path.resolve(run)) ? limits : {};
    const knn = await benchmarkKnn(run, { overrides: dataOverrides(), ...limited, pool, log: (l) => process.stderr.write(l + '\n') });
    const lin = await benchmarkLinear(run, { overrides: dataOverrides(), ...limited, epochs, pool, log: (l) => process.stderr.write(l + '\n') });
    // The checkpoint's iteration (what was measured), not the run's: a run still training is ahead of its last checkpoint.
    const iter = typeof knn.result.iter === 'number' ? knn.result.iter : info.iter;
    const ep = iter && info.max_iters ? `${((iter / info.max_iters) * info.max_epochs).toFixed(2)} (${iter} it)` : String(info.epoch);
    rows.push({ what: 'pre-trained', algorithm: model.type, encoder, epochs: ep, train_time: duration(info), knn: knn.metrics.knn_top1, linear: lin.metrics.linear_top1, note: `${path.relative(process.cwd(), run)}${limited.trainLimit ? ` (first ${limited.trainLimit} train / ${limited.testLimit} test images)` : ''}` });
  }

  const f = (v?: number) => (v === undefined ? '-' : v.toFixed(4));
  const lines = ['| | algorithm | encoder | pre-training epochs | pre-training time | kNN top-1 | linear top-1 | run |', '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.what} | ${r.algorithm} | ${r.encoder} | ${r.epochs} | ${r.train_time} | ${f(r.knn)} | ${f(r.linear)} | ${r.note ?? ''} |`);
  process.stdout.write(lines.join('\n') + '\n');
  if (flag('json')) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
