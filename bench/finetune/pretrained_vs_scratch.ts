/**
 * Fine-tuning from pretrained weights against training from scratch (BENCHMARKS.md, "Fine-tuning"):
 * one epoch of the FineTune template on the 12 committed images of data/images-sample, from a
 * ResNet-18 this benchmark pre-trains itself and exports in torchvision's names, and from random
 * weights, with the same seeds; top-1 accuracy on held-out images of the same three classes.
 *
 *   nice -n 10 node -r sucrase/register bench/finetune/pretrained_vs_scratch.ts [--out /tmp/cvw-bench-finetune]
 *       [--pretrain-epochs 4] [--width 16] [--seeds 0,1,2,3,4] [--json]
 *
 * The data, all from the committed Fashion-MNIST sample (data/fashion-mnist-sample), rendered as
 * data/images-sample was (scripts/make-fashion-mnist-sample.mjs: the 28x28 picture tinted with one
 * of three colours, 56x56 cubic, JPEG and PNG in turn) so that all three sets look alike:
 *   - pre-training: the 1,400 training images of the 7 classes that are NOT in the sample (pullover,
 *     dress, coat, sandal, shirt, sneaker, ankle boot), supervised, as ImageNet pre-training is:
 *     other classes and other images than the downstream task, so the fine-tuning can only gain
 *     from features that transfer, never from having seen its labels or images. (SimCLR on the
 *     images would also do, but needs far more epochs than a few CPU minutes to beat random.)
 *   - fine-tuning: data/images-sample itself (T-shirt/top, trouser, bag; 4 each: the first 4 test
 *     images of each class in the sample);
 *   - validation: the other 46 test images of each of those classes in the sample (138), which
 *     neither run trains on. The benchmark checks that its rendering reproduces the committed PNGs.
 *
 * The pre-trained run is exported with `cvw weights export --format torchvision` (exportWeights)
 * and the fine-tuning loads that file through `model.pretrained`, the path a torchvision file takes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import '../../src/builtins';
import { loadSharp } from '../../src/data/decode';
import { readIdx } from '../../src/data/sources/idx';
import { readMetrics, readRunInfo } from '../../src/rundir';
import { train, type TrainResult } from '../../src/train/train';
import { exportWeights } from '../../src/weights/export';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const root = path.resolve(__dirname, '../..');
const out = path.resolve(opt('out', path.join(os.tmpdir(), 'cvw-bench-finetune')));
const pretrainEpochs = Number(opt('pretrain-epochs', '4'));
const width = Number(opt('width', '16'));
const seeds = opt('seeds', '0,1,2,3,4').split(',').map(Number);

const CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];
const SAMPLE = [0, 1, 8];
const TINTS = [
  [1, 0.6, 0.3],
  [0.3, 0.8, 1],
  [0.7, 1, 0.4],
];

/** One 28x28 grey picture as the sample's n-th image of its class: tinted, 56x56, PNG when n is odd. */
async function render(grey: Uint8Array, n: number): Promise<{ bytes: Buffer; ext: string }> {
  const rgb = Buffer.alloc(28 * 28 * 3);
  const tint = TINTS[n % 3];
  for (let p = 0; p < 28 * 28; p++) for (let c = 0; c < 3; c++) rgb[3 * p + c] = Math.round(grey[p] * tint[c]);
  const img = loadSharp()(rgb, { raw: { width: 28, height: 28, channels: 3 } }).resize(56, 56, { kernel: 'cubic' });
  return n % 2 ? { bytes: await img.png({ compressionLevel: 9 }).toBuffer(), ext: 'png' } : { bytes: await img.jpeg({ quality: 90 }).toBuffer(), ext: 'jpg' };
}

/** Render the images of `classes` from one idx subset, skipping the first `skip` of each class. */
async function renderFolder(subset: 'train' | 't10k', classes: number[], skip: number, dir: string, check?: string): Promise<number> {
  const src = path.join(root, 'data', 'fashion-mnist-sample');
  const images = readIdx(path.join(src, `${subset}-images-idx3-ubyte.gz`));
  const labels = readIdx(path.join(src, `${subset}-labels-idx1-ubyte.gz`));
  const seen = new Map<number, number>();
  let written = 0;
  for (let i = 0; i < labels.data.length; i++) {
    const l = labels.data[i];
    if (!classes.includes(l)) continue;
    const n = seen.get(l) ?? 0;
    seen.set(l, n + 1);
    const { bytes, ext } = await render(images.data.subarray(i * 784, (i + 1) * 784), n);
    if (check && n < skip && ext === 'png') {
      // The committed sample's PNGs are lossless: the same rendering gives the same pixels.
      const committed = path.join(check, CLASSES[l], `${CLASSES[l]}-${n}.png`);
      const [a, b] = await Promise.all([loadSharp()(bytes).raw().toBuffer(), loadSharp()(committed).raw().toBuffer()]);
      if (!a.equals(b)) throw new Error(`rendering does not reproduce ${committed}`);
    }
    if (n < skip) continue;
    fs.mkdirSync(path.join(dir, CLASSES[l]), { recursive: true });
    fs.writeFileSync(path.join(dir, CLASSES[l], `${CLASSES[l]}-${n}.${ext}`), bytes);
    written++;
  }
  return written;
}

function writeYaml(name: string, text: string): string {
  const file = path.join(out, name);
  fs.writeFileSync(file, text);
  return file;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const pretrainDir = path.join(out, 'pretrain');
  const valDir = path.join(out, 'val');
  const other = CLASSES.map((_, i) => i).filter((i) => !SAMPLE.includes(i));
  const nPretrain = await renderFolder('train', other, 0, pretrainDir);
  const nVal = await renderFolder('t10k', SAMPLE, 4, valDir, path.join(root, 'data', 'images-sample'));
  const sample = path.join(root, 'data', 'images-sample');

  // Pre-training: the Classification template (its recipe: SGD 0.05, cosine, label smoothing) on the 7 other classes.
  const pretrainCfg = writeYaml(
    'pretrain.yaml',
    `_base_: ${path.join(root, 'templates', 'Classification.yaml')}
model:
  backbone: { type: ResNet, depth: 18, stem: imagenet, base_width: ${width} }
data:
  workers: 0
  train:
    batch_size: 32
    source: { root: ${pretrainDir} }
    pipeline:
      - { type: RandomResizedCrop, size: 56, scale: [0.5, 1.0] }
      - { type: RandomHorizontalFlip }
      - { type: ToTensor }
      - { type: Normalize }
  val: { source: { root: ${pretrainDir} }, pipeline: [{ type: ToTensor }, { type: Normalize }] }
eval_pipelines: []
lr_schedule: { type: CosineLR, warmup_epochs: 0 }
runner: { max_epochs: ${pretrainEpochs}, log_interval: 20 }
checkpoint: { _delete_: true, keep: 1 }
`,
  );
  const tPre = Date.now();
  const pre = await train(pretrainCfg, { workDir: path.join(out, 'runs', 'pretrain'), quiet: true });
  if (pre.status !== 'finished') throw new Error(`pre-training ${pre.status}`);
  const pretrainSeconds = (Date.now() - tPre) / 1000;
  const lastTrainAcc = lastMetric(pre.runDir, 'accuracy');
  const weights = path.join(out, 'resnet18_pretrained_torchvision.safetensors');
  await exportWeights(pre.runDir, 'torchvision', weights);

  // Fine-tuning: the FineTune template (frozen stem and layer1, head lr x10, EMA), one epoch (3
  // steps of 4 images) with no warm-up; from scratch, the same recipe without pretrained weights
  // or frozen stages (freezing random stages would only handicap it).
  const model = (pretrained: boolean) =>
    pretrained
      ? `model:\n  backbone: { base_width: ${width} }\n  pretrained: ${weights}`
      : `model:\n  _delete_: true\n  type: Classification\n  backbone: { type: ResNet, depth: 18, stem: imagenet, base_width: ${width} }\n  head: { type: ClsHead, label_smoothing: 0.1 }`;
  const finetune = (pretrained: boolean) =>
    writeYaml(
      `finetune_${pretrained ? 'pretrained' : 'scratch'}.yaml`,
      `_base_: ${path.join(root, 'templates', 'FineTune.yaml')}
${model(pretrained)}
data:
  workers: 0
  train:
    batch_size: 4
    source: { root: ${sample} }
    pipeline:
      - { type: RandomResizedCrop, size: 56, scale: [0.5, 1.0] }
      - { type: RandomHorizontalFlip }
      - { type: ToTensor }
      - { type: Normalize }
  val:
    batch_size: 64
    source: { root: ${valDir} }
    pipeline: [{ type: ToTensor }, { type: Normalize }]
lr_schedule: { type: CosineLR, warmup_epochs: 0 }
runner: { max_epochs: 1, log_interval: 1 }
`,
    );
  const configs = { pretrained: finetune(true), scratch: finetune(false) };
  const rows: Array<{ seed: number; pretrained: number; scratch: number }> = [];
  const tFine = Date.now();
  let engine = '';
  for (const seed of seeds) {
    const acc: Record<string, number> = {};
    for (const [what, cfg] of Object.entries(configs)) {
      const r: TrainResult = await train(cfg, {
        workDir: path.join(out, 'runs', `${what}-seed${seed}`),
        quiet: true,
        overrides: [{ key: 'seed', value: String(seed), arg: `--seed ${seed}` }],
      });
      if (r.status !== 'finished' || r.iter !== 3) throw new Error(`${what} seed ${seed}: ${r.status} after ${r.iter} iterations`);
      acc[what] = r.metrics['val/accuracy_top1'];
      engine ||= JSON.stringify(readRunInfo(r.runDir).engine);
    }
    rows.push({ seed, pretrained: acc.pretrained, scratch: acc.scratch });
  }
  const mean = (k: 'pretrained' | 'scratch') => rows.reduce((s, r) => s + r[k], 0) / rows.length;
  const summary = {
    pretrain: { images: nPretrain, classes: other.length, epochs: pretrainEpochs, width, seconds: pretrainSeconds, last_train_accuracy: lastTrainAcc, weights },
    finetune: { train_images: 12, val_images: nVal, epochs: 1, iterations: 3, seeds, seconds: (Date.now() - tFine) / 1000 },
    rows,
    mean: { pretrained: mean('pretrained'), scratch: mean('scratch') },
    wins: rows.filter((r) => r.pretrained > r.scratch).length,
    engine,
    total_seconds: (Date.now() - t0) / 1000,
    loadavg: os.loadavg(),
    cpus: os.cpus().length,
  };
  if (args.includes('--json')) console.log(JSON.stringify(summary, null, 2));
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  console.log(`pre-training: ResNet-18 (width ${width}, imagenet stem) on ${nPretrain} images of ${other.length} other classes, ${pretrainEpochs} epochs, ${pretrainSeconds.toFixed(0)} s (last train accuracy ${pct(lastTrainAcc)}); exported as torchvision safetensors`);
  console.log(`fine-tuning: 1 epoch (3 steps) on the 12 images of data/images-sample; val: ${nVal} held-out images of the same 3 classes; ${summary.finetune.seconds.toFixed(0)} s for ${2 * seeds.length} runs\n`);
  console.log('| seed | from pretrained (top-1) | from scratch (top-1) |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r.seed} | ${pct(r.pretrained)} | ${pct(r.scratch)} |`);
  console.log(`| mean | ${pct(summary.mean.pretrained)} | ${pct(summary.mean.scratch)} |`);
  console.log(`\npretrained ahead in ${summary.wins} of ${rows.length} seeds; engine ${engine}; total ${summary.total_seconds.toFixed(0)} s; load average ${summary.loadavg.map((x) => x.toFixed(2)).join(' ')} on ${summary.cpus} CPUs`);
}

/** The last logged value of a training metric in metrics.jsonl. */
function lastMetric(runDir: string, key: string): number {
  const records = readMetrics(runDir);
  for (let i = records.length - 1; i >= 0; i--) {
    const rec = records[i];
    const v = rec[key] ?? rec[`train/${key}`];
    if (typeof v === 'number') return v;
  }
  return NaN;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
