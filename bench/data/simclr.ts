/**
 * Images/s of the SimCLR two-view pipeline (decode + augment, batch 64, 96x96 output), from a
 * folder of JPEG files and from the same images packed as TFRecord shards, with 1 and 2 decoding
 * workers; and PyTorch's DataLoader with torchvision's transforms on the same files, in the same
 * run. Each configuration runs one warm-up epoch, then a measured one: images/s (wall clock) and
 * CPU milliseconds per image over every thread and process involved — the machine is shared, and
 * CPU time is what a busy neighbour disturbs least. Configurations run `--rounds` times,
 * interleaved; the best round counts.
 *
 *   nice -n 10 node -r sucrase/register bench/data/simclr.ts [--count 1280] [--size 256] [--rounds 2] [--cold]
 *
 * --cold evicts the benchmark files from the page cache (posix_fadvise DONTNEED) before the measured
 * epoch, so that reading pays the disk: the case TFRecord packing is for.
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

interface Measure {
  imagesPerS: number;
  cpuMsPerImage: number;
}

interface Result extends Measure {
  name: string;
  workers: number;
}

/** Our loader over `source`: a warm-up epoch, then one measured epoch (wall and process CPU). */
async function ours(source: Record<string, unknown>, workers: number, beforeMeasure: () => void): Promise<Measure> {
  const loader = await createLoader({
    dataset: { type: 'MultiViewDataset', source, views: [{ num: 2, pipeline: SIMCLR_VIEW }], batch_size: 64 } as never,
    data: { workers, prefetch: 4, skip_corrupt: false },
    split: 'train',
    seed: 0,
  });
  try {
    for await (const b of loader.epoch(0)) void b;
    beforeMeasure();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    for await (const b of loader.epoch(1)) n += b.views[0].shape[0];
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { imagesPerS: n / secs, cpuMsPerImage: (cpu.user + cpu.system) / 1000 / n };
  } finally {
    await loader.close();
  }
}

function torchvision(folder: string, workers: number): Measure {
  const r = spawnSync(PYTHON, [path.join(__dirname, 'torchvision_simclr.py'), folder, String(workers), String(OUT)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torchvision benchmark failed: ${r.stderr}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { images_per_s: number; cpu_ms_per_image: number };
  return { imagesPerS: res.images_per_s, cpuMsPerImage: res.cpu_ms_per_image };
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
  const data: BenchData = await makeBenchImages(arg('out', '/tmp/cvw-bench-data'), Number(arg('count', '1280')), Number(arg('size', '256')));
  const jpegFiles = listImages(data.jpegDir);
  const shardFiles = fs.readdirSync(data.tfrecordDir).map((n) => path.join(data.tfrecordDir, n));
  const noop = () => undefined;
  const configs: Array<{ name: string; workers: number; run: () => Promise<Measure> }> = [];
  for (const workers of [1, 2]) {
    // --cold: the measured epoch reads from disk (the warm-up epoch filled the page cache).
    configs.push({ name: 'cvw JPEG folder', workers, run: () => ours({ type: 'ImageFolder', root: data.jpegDir }, workers, cold ? () => evict(jpegFiles) : noop) });
    configs.push({ name: 'cvw TFRecord', workers, run: () => ours({ type: 'TFRecord', files: data.tfrecordDir }, workers, cold ? () => evict(shardFiles) : noop) });
    if (!cold) configs.push({ name: 'torchvision DataLoader', workers, run: async () => torchvision(data.jpegDir, workers) });
  }
  const best = new Map<string, Result>();
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) {
      const m = await c.run();
      const key = `${c.name}|${c.workers}`;
      process.stderr.write(`round ${r + 1}: ${c.name}, ${c.workers} worker(s): ${m.imagesPerS.toFixed(0)} images/s, ${m.cpuMsPerImage.toFixed(2)} CPU ms/image\n`);
      const prev = best.get(key);
      best.set(key, { name: c.name, workers: c.workers, imagesPerS: Math.max(prev?.imagesPerS ?? 0, m.imagesPerS), cpuMsPerImage: Math.min(prev?.cpuMsPerImage ?? Infinity, m.cpuMsPerImage) });
    }
  }
  const get = (name: string, w: number) => best.get(`${name}|${w}`);
  const lines = [
    `SimCLR two views, ${OUT}x${OUT} output, batch 64; ${data.count} JPEG files of ${data.size}x${data.size} (${(data.jpegBytes / data.count / 1024).toFixed(1)} KiB on average); ${cold ? 'page cache evicted before the measured epoch' : 'files in the page cache'}; best of ${rounds} rounds`,
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    '',
    '| workers | configuration | images/s | CPU ms / image | images/s vs cvw JPEG folder | CPU per image vs cvw JPEG folder |',
    '|---:|---|---:|---:|---:|---:|',
  ];
  for (const w of [1, 2]) {
    const base = get('cvw JPEG folder', w)!;
    for (const name of ['cvw JPEG folder', 'cvw TFRecord', 'torchvision DataLoader']) {
      const m = get(name, w);
      if (!m) continue;
      lines.push(`| ${w} | ${name} | ${m.imagesPerS.toFixed(0)} | ${m.cpuMsPerImage.toFixed(2)} | ${(m.imagesPerS / base.imagesPerS).toFixed(2)}x | ${(m.cpuMsPerImage / base.cpuMsPerImage).toFixed(2)}x |`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

if (require.main === module) main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
