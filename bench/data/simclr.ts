/**
 * Images/s of the SimCLR two-view pipeline (decode + augment, batch 64, 96x96 output), from a
 * folder of JPEG files and from the same images packed as TFRecord shards, with 1 and 2 decoding
 * workers; and PyTorch's DataLoader with torchvision's transforms on the same files, in the same
 * run. Each configuration runs `--rounds` times, interleaved; the best round counts (the machine
 * is shared: the best is the least disturbed).
 *
 *   nice -n 10 node -r sucrase/register bench/data/simclr.ts [--count 2560] [--size 256] [--rounds 2] [--cold]
 *
 * --cold evicts the benchmark files from the page cache (posix_fadvise DONTNEED) before each run,
 * so that reading pays the disk: the case TFRecord packing is for.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import '../../src/data';
import { createLoader } from '../../src/data/loader';
import { listImages } from '../../src/data/sources/common';
import { makeBenchImages, type BenchData } from './makeImages';

const PYTHON = '/usr/bin/python3';
const OUT = 96;

export const SIMCLR_VIEW = [
  { type: 'RandomResizedCrop', size: OUT },
  { type: 'RandomHorizontalFlip' },
  { type: 'ColorJitter', brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2, p: 0.8 },
  { type: 'RandomGrayscale', p: 0.2 },
  { type: 'GaussianBlur', kernel_size: 9, sigma: [0.1, 2.0], p: 0.5 },
  { type: 'ToTensor' },
  { type: 'Normalize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
];

interface Result {
  name: string;
  workers: number;
  imagesPerS: number;
}

/** Our loader over `source`: images/s over one epoch, after its first batch. */
async function ours(source: Record<string, unknown>, workers: number): Promise<number> {
  const loader = await createLoader({
    dataset: { type: 'MultiViewDataset', source, views: [{ num: 2, pipeline: SIMCLR_VIEW }], batch_size: 64 } as never,
    data: { workers, prefetch: 4, skip_corrupt: false },
    split: 'train',
    seed: 0,
  });
  try {
    let n = 0;
    let start = 0;
    let i = 0;
    for await (const b of loader.epoch(0)) {
      if (i++ === 0) start = performance.now();
      else n += b.views[0].shape[0];
    }
    return n / ((performance.now() - start) / 1000);
  } finally {
    await loader.close();
  }
}

function torchvision(folder: string, workers: number): number {
  const r = spawnSync(PYTHON, [path.join(__dirname, 'torchvision_simclr.py'), folder, String(workers), String(OUT)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torchvision benchmark failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { images_per_s: number }).images_per_s;
}

/** Drop the files from the page cache, so that the next run reads them from disk. */
function evict(files: string[]): void {
  const r = spawnSync(PYTHON, ['-c', 'import os,sys\nfor f in sys.stdin.read().split("\\n"):\n  if f:\n    fd=os.open(f,os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED); os.close(fd)'], { input: files.join('\n'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`evicting the page cache failed: ${r.stderr}`);
}

async function main(): Promise<void> {
  const arg = (name: string, def: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : def;
  };
  const rounds = Number(arg('rounds', '2'));
  const cold = process.argv.includes('--cold');
  const data: BenchData = await makeBenchImages(arg('out', '/tmp/cvw-bench-data'), Number(arg('count', '2560')), Number(arg('size', '256')));
  const jpegFiles = listImages(data.jpegDir);
  const shardFiles = fs.readdirSync(data.tfrecordDir).map((n) => path.join(data.tfrecordDir, n));
  const configs: Array<{ name: string; workers: number; files: string[]; run: () => Promise<number> }> = [];
  for (const workers of [1, 2]) {
    configs.push({ name: 'cvw, JPEG folder', workers, files: jpegFiles, run: () => ours({ type: 'ImageFolder', root: data.jpegDir }, workers) });
    configs.push({ name: 'cvw, TFRecord', workers, files: shardFiles, run: () => ours({ type: 'TFRecord', files: data.tfrecordDir }, workers) });
    configs.push({ name: 'torchvision DataLoader, JPEG folder', workers, files: jpegFiles, run: async () => torchvision(data.jpegDir, workers) });
  }
  const best = new Map<string, Result>();
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) {
      if (cold) evict(c.files);
      const ips = await c.run();
      const key = `${c.name}|${c.workers}`;
      process.stderr.write(`round ${r + 1}: ${c.name}, ${c.workers} worker(s): ${ips.toFixed(0)} images/s\n`);
      if (!best.has(key) || best.get(key)!.imagesPerS < ips) best.set(key, { name: c.name, workers: c.workers, imagesPerS: ips });
    }
  }
  const get = (name: string, w: number) => best.get(`${name}|${w}`)!.imagesPerS;
  const lines = [
    `SimCLR two views, ${OUT}x${OUT} output, batch 64; ${data.count} JPEG files of ${data.size}x${data.size} (${(data.jpegBytes / data.count / 1024).toFixed(1)} KiB on average), ${cold ? 'page cache evicted before each run' : 'files in the page cache'}; best of ${rounds} rounds`,
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    '',
    '| workers | cvw JPEG folder | cvw TFRecord | torchvision DataLoader | TFRecord / JPEG | cvw JPEG / torchvision | cvw TFRecord / torchvision |',
    '|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const w of [1, 2]) {
    const [j, t, p] = [get('cvw, JPEG folder', w), get('cvw, TFRecord', w), get('torchvision DataLoader, JPEG folder', w)];
    lines.push(`| ${w} | ${j.toFixed(0)} img/s | ${t.toFixed(0)} img/s | ${p.toFixed(0)} img/s | ${(t / j).toFixed(2)}x | ${(j / p).toFixed(2)}x | ${(t / p).toFixed(2)}x |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

if (require.main === module) main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
