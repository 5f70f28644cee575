#!/usr/bin/env node
// Regenerates data/fashion-mnist-sample/ (a balanced subset of Fashion-MNIST in its own idx
// format, gzipped) and data/images-sample/ (a few of those images as JPEG and PNG files in class
// folders, for tests and examples), from Debian's dataset-fashion-mnist package or any folder
// holding the four original idx files.
//
//   node scripts/make-fashion-mnist-sample.mjs [--from /usr/share/datasets/fashion-mnist] [--train-per-class 200] [--test-per-class 50]
//
// The selection is deterministic: the first N images of each class in the original order.
// Output is byte-for-byte reproducible (gzip without timestamps, fixed encoder settings).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const from = opt('from', '/usr/share/datasets/fashion-mnist');
const perClass = { train: Number(opt('train-per-class', 200)), t10k: Number(opt('test-per-class', 50)) };
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function readIdx(file) {
  let b = readFileSync(file);
  if (b[0] === 0x1f && b[1] === 0x8b) b = gunzipSync(b);
  const ndims = b[3];
  const dims = Array.from({ length: ndims }, (_, d) => b.readUInt32BE(4 + 4 * d));
  return { dims, data: b.subarray(4 + 4 * ndims) };
}

function idxBytes(dims, data) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

function writeAtomic(file, bytes) {
  writeFileSync(file + '.tmp', bytes);
  renameSync(file + '.tmp', file);
}

const out = join(root, 'data', 'fashion-mnist-sample');
mkdirSync(out, { recursive: true });
const picked = {};
for (const prefix of ['train', 't10k']) {
  const images = readIdx(join(from, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(from, `${prefix}-labels-idx1-ubyte.gz`));
  const [, h, w] = images.dims;
  const counts = new Array(10).fill(0);
  const chosen = [];
  for (let i = 0; i < labels.dims[0] && chosen.length < 10 * perClass[prefix]; i++) {
    const l = labels.data[i];
    if (counts[l] < perClass[prefix]) {
      counts[l]++;
      chosen.push(i);
    }
  }
  const img = Buffer.alloc(chosen.length * h * w);
  const lab = Buffer.alloc(chosen.length);
  chosen.forEach((src, k) => {
    images.data.copy(img, k * h * w, src * h * w, (src + 1) * h * w);
    lab[k] = labels.data[src];
  });
  writeAtomic(join(out, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idxBytes([chosen.length, h, w], img), { level: 9 }));
  writeAtomic(join(out, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(idxBytes([chosen.length], lab), { level: 9 }));
  picked[prefix] = { img, lab, h, w, count: chosen.length };
  console.log(`${prefix}: ${chosen.length} images (${perClass[prefix]} per class) from ${from}`);
}

// A tiny folder of encoded images: 3 classes x 4 images, 56x56, half JPEG half PNG, tinted so
// they are real colour images.
const require = createRequire(import.meta.url);
const sharp = require('sharp');
const imagesDir = join(root, 'data', 'images-sample');
rmSync(imagesDir, { recursive: true, force: true });
const { img, lab, h, w } = picked.t10k;
const tints = [[1, 0.6, 0.3], [0.3, 0.8, 1], [0.7, 1, 0.4]];
for (const [ci, cls] of [[0, 't-shirt'], [1, 'trouser'], [8, 'bag']]) {
  const dir = join(imagesDir, cls);
  mkdirSync(dir, { recursive: true });
  let n = 0;
  for (let i = 0; i < lab.length && n < 4; i++) {
    if (lab[i] !== ci) continue;
    const rgb = Buffer.alloc(h * w * 3);
    const tint = tints[n % 3];
    for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) rgb[3 * p + c] = Math.round(img[i * h * w + p] * tint[c]);
    const pipeline = sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).resize(56, 56, { kernel: 'cubic' });
    const name = join(dir, `${cls}-${n}.${n % 2 ? 'png' : 'jpg'}`);
    writeAtomic(name, n % 2 ? await pipeline.png({ compressionLevel: 9 }).toBuffer() : await pipeline.jpeg({ quality: 90 }).toBuffer());
    n++;
  }
}
console.log(`images: ${imagesDir} (${CLASSES[0]}, ${CLASSES[1]}, ${CLASSES[8]}: 4 each)`);
