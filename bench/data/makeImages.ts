/**
 * Benchmark images: Fashion-MNIST pictures upscaled to `size` x `size`, tinted with a random
 * colour gradient and a little noise (so that they are colour JPEGs of realistic size), written
 * as an ImageFolder (one folder per class) of JPEG files, then packed as TFRecord shards.
 *
 *   node -r sucrase/register bench/data/makeImages.ts [--out /tmp/cvw-bench-data] [--count 1280] [--size 256]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/data';
import { Random } from '../../src/core/random';
import { loadSharp } from '../../src/data/decode';
import { readIdx } from '../../src/data/sources/idx';
import { listImages } from '../../src/data/sources/common';
import { openImageFolder } from '../../src/data/sources/imageFolder';
import { packSource } from '../../src/data/tfrecord/pack';

export interface BenchData {
  jpegDir: string;
  tfrecordDir: string;
  count: number;
  size: number;
  jpegBytes: number;
}

export async function makeBenchImages(out: string, count: number, size: number, from = '/usr/share/datasets/fashion-mnist'): Promise<BenchData> {
  const jpegDir = path.join(out, `jpeg-${size}-${count}`);
  const tfrecordDir = path.join(out, `tfrecord-${size}-${count}`);
  const stamp = path.join(out, `done-${size}-${count}`);
  if (!fs.existsSync(stamp)) {
    fs.rmSync(jpegDir, { recursive: true, force: true });
    fs.rmSync(tfrecordDir, { recursive: true, force: true });
    const images = readIdx(path.join(from, 'train-images-idx3-ubyte.gz'));
    const labels = readIdx(path.join(from, 'train-labels-idx1-ubyte.gz'));
    const sharp = loadSharp();
    const rng = new Random(2024);
    for (let i = 0; i < count; i++) {
      const grey = images.data.subarray(i * 784, (i + 1) * 784);
      const big = await sharp(grey, { raw: { width: 28, height: 28, channels: 1 } }).resize(size, size, { kernel: 'cubic' }).raw().toBuffer();
      const a = [rng.uniform(0.3, 1), rng.uniform(0.3, 1), rng.uniform(0.3, 1)];
      const b = [rng.uniform(0, 80), rng.uniform(0, 80), rng.uniform(0, 80)];
      const rgb = Buffer.alloc(size * size * 3);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const p = y * size + x;
          const g = (x + y) / (2 * size);
          for (let c = 0; c < 3; c++) rgb[3 * p + c] = Math.max(0, Math.min(255, Math.round(big[p] * a[c] + b[c] * (c === 0 ? g : 1 - g) + rng.normal(0, 6))));
        }
      }
      const dir = path.join(jpegDir, `class${labels.data[i]}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${String(i).padStart(6, '0')}.jpg`), await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    }
    await packSource(openImageFolder(jpegDir), { out: tfrecordDir, shards: 4, prefix: 'train' });
    fs.writeFileSync(stamp, '');
  }
  let jpegBytes = 0;
  for (const f of listImages(jpegDir)) jpegBytes += fs.statSync(f).size;
  return { jpegDir, tfrecordDir, count, size, jpegBytes };
}

if (require.main === module) {
  const arg = (name: string, def: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : def;
  };
  makeBenchImages(arg('out', '/tmp/cvw-bench-data'), Number(arg('count', '1280')), Number(arg('size', '256'))).then((d) => process.stdout.write(JSON.stringify(d, null, 2) + '\n'));
}
