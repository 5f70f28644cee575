/** Segmentation data: mask PNGs, masks through the pipeline, the SegFolder/VOC sources and SegDataset batches. */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../src/data';
import { randomFor } from '../../src/core/random';
import { loadSharp } from '../../src/data/decode';
import { createLoader } from '../../src/data/loader';
import { decodeMaskPng, encodeMaskPng, vocPalette } from '../../src/data/masks/png';
import { buildPipeline, runPipeline } from '../../src/data/pipeline';
import type { ImageTensor } from '../../src/data/types';
import { tempFiles } from '../helpers/tmp';
import { ROOT } from '../export/helpers';
import { SHAPES_DEFAULTS, synthShapes } from '../../src/data/synth/shapes';
import { cvw } from '../helpers/cvw';

const SAMPLE = path.join(ROOT, 'data/shapes-seg-sample');
const t = tempFiles({});
afterAll(() => t.cleanup());

describe('mask PNGs', () => {
  it('round-trip indexed PNGs (every value, odd widths) and read the VOC colour map', () => {
    const width = 37;
    const height = 9;
    const data = Uint8Array.from({ length: width * height }, (_, i) => (i * 7) % 256);
    const png = encodeMaskPng({ data, width, height });
    const back = decodeMaskPng(png);
    expect([back.width, back.height]).toEqual([width, height]);
    expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);
    // VOC: 1 = (128, 0, 0), 2 = (0, 128, 0), 15 (person) = (192, 128, 128), 255 = (224, 224, 192).
    const p = back.palette!;
    expect([...p.subarray(3, 6), ...p.subarray(6, 9), ...p.subarray(45, 48), ...p.subarray(765, 768)]).toEqual([128, 0, 0, 0, 128, 0, 192, 128, 128, 224, 224, 192]);
  });

  it('read indexed PNGs as their indices even where libvips sees one colour, and grey PNGs as their values', async () => {
    const sharp = loadSharp();
    // Two indices with the same colour: RGB decoding could not tell them apart.
    const palette = vocPalette();
    palette.set(palette.subarray(3, 6), 6);
    const data = Uint8Array.from([0, 1, 2, 255, 2, 1]);
    const png = encodeMaskPng({ data, width: 3, height: 2 }, palette);
    expect(Array.from(decodeMaskPng(png).data)).toEqual([0, 1, 2, 255, 2, 1]);
    const rgb = await sharp(png).raw().toBuffer();
    expect(rgb.subarray(3, 6).equals(rgb.subarray(6, 9))).toBe(true);
    // A grey PNG written by libvips (with its own filters and compression).
    const values = Uint8Array.from({ length: 64 * 5 }, (_, i) => (i * 13) % 151);
    const grey = await sharp(values, { raw: { width: 64, height: 5, channels: 1 } }).toColourspace('b-w').png({ adaptiveFiltering: true, compressionLevel: 9 }).toBuffer();
    expect(Buffer.from(decodeMaskPng(grey).data).equals(Buffer.from(values))).toBe(true);
    // Palette PNGs with 4 bits per pixel (libvips packs small palettes).
    const four = await sharp(Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i % 3 === 0 ? [0, 255, 0, 128, 64][Math.floor(i / 3) % 5] : 0)), { raw: { width: 5, height: 3, channels: 3 } })
      .png({ palette: true, colours: 4, dither: 0 })
      .toBuffer();
    const d4 = decodeMaskPng(four);
    const reds = Array.from(d4.data, (i) => d4.palette![3 * i]);
    expect(reds.slice(0, 5)).toEqual([0, 255, 0, 128, 64]);
    const rgbPng = await sharp(values.subarray(0, 12), { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer();
    expect(() => decodeMaskPng(rgbPng)).toThrow(/8-bit RGB PNG: masks must be indexed \(palette\) or 8-bit grey PNGs/);
    expect(() => decodeMaskPng(Buffer.from('GIF89a'))).toThrow(/not a PNG file/);
  });
});

/** An image whose grey value is 40 x its class, so the mask can be checked against the image after any nearest-neighbour step. */
function coded(width: number, height: number): { img: ImageTensor; mask: { data: Uint8Array; width: number; height: number } } {
  const mask = Uint8Array.from({ length: width * height }, (_, i) => ((i % width) * 3 + Math.floor(i / width) * 5) % 5);
  return { img: { data: Uint8Array.from(mask, (m) => 40 * m), width, height, channels: 1, white: 255 }, mask: { data: mask, width, height } };
}

describe('masks through the pipeline', () => {
  it('follow every geometric step with the image (nearest), padding with 255, and the colour steps leave them alone', () => {
    const steps = buildPipeline([
      { type: 'RandomResizedCrop', size: [13, 17], scale: [0.3, 1], interpolation: 'nearest' },
      { type: 'RandomHorizontalFlip', p: 0.5 },
      { type: 'Resize', size: [29, 23], interpolation: 'nearest' },
      { type: 'CenterCrop', size: [33, 21] },
      { type: 'ColorJitter', brightness: 0.4 },
    ]);
    let flips = 0;
    for (let seed = 0; seed < 12; seed++) {
      const { img, mask } = coded(40, 30);
      const state = runPipeline(steps, { img, shared: img.data, mask }, randomFor(seed));
      expect([state.mask!.width, state.mask!.height]).toEqual([21, 33]);
      expect([state.img.width, state.img.height]).toEqual([21, 33]);
      // CenterCrop padded 29 rows to 33: two rows of ignore above and below.
      expect(Array.from(state.mask!.data.subarray(0, 2 * 21)).every((v) => v === 255)).toBe(true);
      expect(Array.from(state.mask!.data.subarray(31 * 21)).every((v) => v === 255)).toBe(true);
      expect(Array.from(state.mask!.data.subarray(2 * 21, 31 * 21)).every((v) => v < 5)).toBe(true);
      // The crop (before ColorJitter) saw the same pixels: rerun without the colour step and compare.
      const plain = runPipeline(steps.slice(0, 4), { img, shared: img.data, mask }, randomFor(seed));
      for (let i = 2 * 21; i < 31 * 21; i++) expect(plain.img.data[i]).toBe(40 * plain.mask!.data[i]);
      expect(Buffer.from(plain.mask!.data).equals(Buffer.from(state.mask!.data))).toBe(true);
      const first = runPipeline(steps.slice(0, 1), { img, shared: img.data, mask }, randomFor(seed));
      const flipped = runPipeline(steps.slice(0, 2), { img, shared: img.data, mask }, randomFor(seed));
      if (flipped.mask!.data[0] !== first.mask!.data[0] || flipped.mask!.data[16] !== first.mask!.data[16]) flips++;
    }
    expect(flips).toBeGreaterThan(0);
  });
});

describe('segmentation sources and SegDataset', () => {
  it('batches images with their masks from the committed sample (SegFolder), class names from classes.txt', async () => {
    const loader = await createLoader({
      dataset: {
        type: 'SegDataset',
        batch_size: 8,
        source: { type: 'SegFolder', img_dir: path.join(SAMPLE, 'val'), mask_dir: path.join(SAMPLE, 'masks/val') },
        pipeline: [{ type: 'RandomHorizontalFlip' }, { type: 'Resize', size: [32, 32], interpolation: 'nearest' }, { type: 'ToTensor' }],
      },
      data: { workers: 1, prefetch: 2, skip_corrupt: false },
      split: 'train',
      seed: 1,
    });
    try {
      expect(loader.classes).toEqual(['background', 'circle', 'square', 'triangle']);
      expect(loader.length).toBe(16);
      let batches = 0;
      const counts = [0, 0, 0, 0];
      for await (const b of loader.epoch(0)) {
        batches++;
        expect(b.masks!.shape).toEqual([8, 32, 32]);
        expect(b.labels).toBeUndefined();
        for (const v of b.masks!.data) counts[v]++;
      }
      expect(batches).toBe(2);
      // Every class is there, background most.
      expect(counts.every((c) => c > 0)).toBe(true);
      expect(counts[0]).toBeGreaterThan(counts[1] + counts[2] + counts[3]);
    } finally {
      await loader.close();
    }
  });

  it('reads the Pascal VOC layout, and names images without masks and pipelines that drop the mask', async () => {
    const voc = path.join(t.dir, 'VOC2012');
    for (const d of ['JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation']) fs.mkdirSync(path.join(voc, d), { recursive: true });
    const sharp = loadSharp();
    for (const name of ['2007_000032', '2007_000039']) {
      await sharp(new Uint8Array(12 * 10 * 3).fill(90), { raw: { width: 12, height: 10, channels: 3 } }).jpeg().toFile(path.join(voc, 'JPEGImages', `${name}.jpg`));
      fs.writeFileSync(path.join(voc, 'SegmentationClass', `${name}.png`), encodeMaskPng({ data: new Uint8Array(120).fill(15).fill(255, 0, 12), width: 12, height: 10 }));
    }
    fs.writeFileSync(path.join(voc, 'ImageSets/Segmentation/val.txt'), '2007_000032\n2007_000039\n');
    fs.writeFileSync(path.join(voc, 'ImageSets/Segmentation/train.txt'), '2007_000032\n2007_000099\n');
    const open = (split: string, pipeline: unknown[] = [{ type: 'ToTensor' }]) =>
      createLoader({ dataset: { type: 'SegDataset', batch_size: 2, source: { type: 'VOCSegmentation', root: voc }, pipeline }, data: { workers: 0, prefetch: 2, skip_corrupt: false }, split, seed: 0 });
    const loader = await open('val');
    try {
      expect(loader.numClasses).toBe(21);
      const [b] = [await loader.epoch(0)[Symbol.asyncIterator]().next()].map((r) => r.value);
      expect(b.masks.shape).toEqual([2, 10, 12]);
      expect(b.masks.data[0]).toBe(255);
      expect(b.masks.data[12]).toBe(15);
    } finally {
      await loader.close();
    }
    await expect(open('train')).rejects.toThrow(/train\.txt:2: image not found: .*2007_000099\.jpg/);
    // Detection steps move boxes, not masks: refused by name, also where the size stays (a rotation left the mask unrotated).
    for (const [step, name] of [[{ type: 'LetterboxResize', size: 16 }, 'LetterboxResize'], [{ type: 'RandomAffine', degrees: 30 }, 'RandomAffine']] as const) {
      const detection = await open('val', [step, { type: 'ToTensor' }]);
      try {
        await expect(detection.epoch(0)[Symbol.asyncIterator]().next()).rejects.toThrow(`${name} moves the image and its boxes but not its segmentation mask; segmentation pipelines can use Resize,`);
      } finally {
        await detection.close();
      }
    }
    fs.rmSync(path.join(voc, 'SegmentationClass', '2007_000039.png'));
    await expect(open('val')).rejects.toThrow(/1 image has no mask in .*val\.txt .*\n {2}.*2007_000039\.jpg: mask not found: .*2007_000039\.png/);
  });
});

describe('cvw data inspect on masks', () => {
  it('reports the classes in pixels and images, and names masks with values that are no class', async () => {
    const r = await cvw('data', 'inspect', path.join(ROOT, 'configs/segmentation/fcn_resnet18_shapes_sample.yaml'), '--split', 'val', '-q');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^SegFolder: 16 items, RGB/);
    expect(r.out).toMatch(/masks: 16, 65536 pixels, 0 ignored \(255\)/);
    const rows = [...r.out.matchAll(/^ +(\d) +(\w+) +(\d+) +([\d.]+)% +(\d+) images$/gm)];
    expect(rows.map((m) => m[2])).toEqual(['background', 'circle', 'square', 'triangle']);
    expect(rows.reduce((a, m) => a + Number(m[3]), 0)).toBe(65536);
    expect(Number(rows[0][5])).toBe(16);
    const dir = path.join(t.dir, 'stray');
    fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'masks'));
    fs.copyFileSync(path.join(SAMPLE, 'val/000000.png'), path.join(dir, 'images/a.png'));
    fs.writeFileSync(path.join(dir, 'masks/a.png'), encodeMaskPng({ data: new Uint8Array(64 * 64).fill(9, 0, 10), width: 64, height: 64 }));
    fs.writeFileSync(path.join(dir, 'cfg.yaml'), `type: SegFolder\nroot: ${dir}\nclasses: [bg, thing]\n`);
    const bad = await cvw('data', 'inspect', path.join(dir, 'cfg.yaml'), '-q');
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/bad: .*a\.png: mask values 9 are no class \(classes 0 to 1, ignore 255\)/);
    // A mask that is a device is one bad item at once (it was read until memory ran out).
    fs.rmSync(path.join(dir, 'masks/a.png'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'masks/a.png'));
    const device = await cvw('data', 'inspect', path.join(dir, 'cfg.yaml'), '-q');
    expect(device.code).toBe(1);
    expect(device.out).toMatch(/bad: .*a\.png: mask file .*a\.png is a character device; expected a regular file/);
  });
});

describe('reduce_zero_label (ADE20K masks, 0 = unlabelled)', () => {
  it('reads 0 as ignored and every class one less: in batches, in `data inspect`, and in packed shards', async () => {
    const dir = path.join(t.dir, 'ade');
    fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'masks'));
    fs.copyFileSync(path.join(SAMPLE, 'val/000000.png'), path.join(dir, 'images/a.png'));
    // 64x64: the first row 0, 1, 2, 255 repeated, then class 1 (the first class once reduced).
    const raw = new Uint8Array(64 * 64).fill(1);
    for (let x = 0; x < 64; x++) raw[x] = [0, 1, 2, 255][x % 4];
    fs.writeFileSync(path.join(dir, 'masks/a.png'), encodeMaskPng({ data: raw, width: 64, height: 64 }));
    const source = { type: 'SegFolder', root: dir, classes: ['wall', 'floor'], reduce_zero_label: true };
    const loader = await createLoader({ dataset: { type: 'SegDataset', batch_size: 1, source, pipeline: [{ type: 'ToTensor' }] }, data: { workers: 0, prefetch: 1, skip_corrupt: false }, split: 'val', seed: 0 });
    try {
      const b = (await loader.epoch(0)[Symbol.asyncIterator]().next()).value;
      expect(Array.from(b.masks.data.subarray(0, 8))).toEqual([255, 0, 1, 255, 255, 0, 1, 255]);
      expect(b.masks.data[64]).toBe(0);
    } finally {
      await loader.close();
    }
    fs.writeFileSync(path.join(dir, 'cfg.yaml'), `type: SegFolder\nroot: ${dir}\nclasses: [wall, floor]\nreduce_zero_label: true\n`);
    expect((await cvw('data', 'inspect', path.join(dir, 'cfg.yaml'), '-q')).code).toBe(0);
    // Read raw, value 2 is no class of two.
    fs.writeFileSync(path.join(dir, 'raw.yaml'), `type: SegFolder\nroot: ${dir}\nclasses: [wall, floor]\n`);
    expect((await cvw('data', 'inspect', path.join(dir, 'raw.yaml'), '-q')).out).toMatch(/mask values 2 are no class/);
    // Packed shards hold the reduced masks, so a TFRecord source reads what the folder gave.
    expect((await cvw('data', 'pack', path.join(dir, 'cfg.yaml'), '--out', path.join(dir, 'shards'), '-q')).code).toBe(0);
    const shards = fs.readdirSync(path.join(dir, 'shards')).filter((f) => f.endsWith('.tfrecord'));
    const packed = await createLoader({ dataset: { type: 'SegDataset', batch_size: 1, source: { type: 'TFRecord', files: path.join(dir, 'shards', shards[0]), classes: ['wall', 'floor'] }, pipeline: [{ type: 'ToTensor' }] }, data: { workers: 0, prefetch: 1, skip_corrupt: false }, split: 'val', seed: 0 });
    try {
      const b = (await packed.epoch(0)[Symbol.asyncIterator]().next()).value;
      expect(Array.from(b.masks.data.subarray(0, 4))).toEqual([255, 0, 1, 255]);
    } finally {
      await packed.close();
    }
  });
});

describe('cvw data synth shapes --masks', () => {
  it('writes a mask per image whose shape pixels lie in the boxes of their class, and the class names', async () => {
    const out = path.join(t.dir, 'synth');
    const r = await cvw('data', 'synth', 'shapes', '--masks', '--out', out, '--train', '3', '--val', '1', '--size', '48', '--max-side', '24', '--seed', '5', '-q');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/masks .*masks\/train/);
    expect(fs.readFileSync(path.join(out, 'masks/classes.txt'), 'utf8')).toBe('background\ncircle\nsquare\ntriangle\n');
    const gt = JSON.parse(fs.readFileSync(path.join(out, 'annotations/instances_train.json'), 'utf8'));
    for (let i = 0; i < 3; i++) {
      const m = decodeMaskPng(fs.readFileSync(path.join(out, 'masks/train', `00000${i}.png`)));
      expect([m.width, m.height]).toEqual([48, 48]);
      const boxes = gt.annotations.filter((a: { image_id: number }) => a.image_id === i + 1);
      // Pixel centres within half a pixel of the box (a pixel half covered may have its centre just outside).
      let shapePixels = 0;
      m.data.forEach((v, p) => {
        if (!v) return;
        shapePixels++;
        const [x, y] = [(p % 48) + 0.5, Math.floor(p / 48) + 0.5];
        expect(boxes.some((b: { category_id: number; bbox: number[] }) => b.category_id === v && x > b.bbox[0] - 0.5 && x < b.bbox[0] + b.bbox[2] + 0.5 && y > b.bbox[1] - 0.5 && y < b.bbox[1] + b.bbox[3] + 0.5)).toBe(true);
      });
      // Shapes cover roughly their box area (circle pi/4, triangle ~0.43 of it), less overlaps.
      const boxArea = boxes.reduce((a: number, b: { bbox: number[] }) => a + b.bbox[2] * b.bbox[3], 0);
      expect(shapePixels).toBeGreaterThan(0.3 * boxArea);
      expect(shapePixels).toBeLessThan(1.05 * boxArea);
    }
    expect(SHAPES_DEFAULTS.masks).toBeUndefined();
    await synthShapes({ ...SHAPES_DEFAULTS, out: path.join(t.dir, 'nomask'), splits: { train: 1 }, size: 32, maxSide: 16 });
    expect(fs.existsSync(path.join(t.dir, 'nomask/masks'))).toBe(false);
  });
});
