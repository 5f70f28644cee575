import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/data';
import { decodeImage } from '../../src/data/decode';
import { pathResolver } from '../../src/data/loader';
import { packSource } from '../../src/data/tfrecord/pack';
import type { DataSource } from '../../src/data/types';
import { tempFiles } from '../helpers/tmp';
import { openSource, solid, writeIdx, writeImage } from './helpers';

const t = tempFiles({});
afterAll(() => t.cleanup());

async function decoded(source: DataSource, i: number) {
  const item = await source.item(i);
  return decodeImage(item.image, source.channels, item.where);
}

beforeAll(async () => {
  // A labelled folder: two classes, JPEG, PNG (grey and RGBA) and WebP files.
  await writeImage(t.file('folder/cat/a.jpg'), solid(8, 6, [200, 30, 30]), 8, 6, 'jpeg');
  await writeImage(t.file('folder/cat/sub/b.png'), solid(4, 4, [10, 20, 30]), 4, 4, 'png');
  await writeImage(t.file('folder/dog/c.webp'), solid(5, 3, [0, 255, 0]), 5, 3, 'webp');
  await writeImage(t.file('folder/dog/d.png'), solid(2, 2, [100]), 2, 2, 'png', 1);
  await writeImage(t.file('folder/dog/e.png'), solid(2, 2, [255, 0, 0, 128]), 2, 2, 'png', 4);
  fs.writeFileSync(t.file('folder/dog/notes.txt'), 'not an image');
  fs.writeFileSync(t.file('list.txt'), ['# comment', 'folder/cat/a.jpg 1', '', 'folder/dog/c.webp 0', 'folder/dog/d.png 2', ''].join('\n'));
});

describe('ImageFolder', () => {
  it('labels by sub-folder (classes sorted, files found recursively, non-images ignored)', async () => {
    const { source } = await openSource({ type: 'ImageFolder', root: t.file('folder') });
    expect(source.classes).toEqual(['cat', 'dog']);
    expect(source.length).toBe(5);
    const items = await Promise.all(Array.from({ length: 5 }, (_, i) => source.item(i)));
    expect(items.map((it) => [path.relative(t.dir, (it.image as { path: string }).path), it.label])).toEqual([
      ['folder/cat/a.jpg', 0],
      ['folder/cat/sub/b.png', 0],
      ['folder/dog/c.webp', 1],
      ['folder/dog/d.png', 1],
      ['folder/dog/e.png', 1],
    ]);
  });

  it('decodes JPEG, PNG and WebP to RGB: grey repeated, alpha dropped', async () => {
    const { source } = await openSource({ type: 'ImageFolder', root: t.file('folder') });
    const jpg = await decoded(source, 0);
    expect([jpg.width, jpg.height, jpg.channels]).toEqual([8, 6, 3]);
    expect(Math.abs(jpg.data[0] - 200)).toBeLessThan(4);
    expect(Array.from((await decoded(source, 2)).data.slice(0, 3))).toEqual([0, 255, 0]);
    expect(Array.from((await decoded(source, 3)).data.slice(0, 3))).toEqual([100, 100, 100]);
    expect(Array.from((await decoded(source, 4)).data.slice(0, 3))).toEqual([255, 0, 0]);
  });

  it('decodes to grey with color: grey (ITU-R 601-2 luma)', async () => {
    const { source } = await openSource({ type: 'ImageFolder', root: t.file('folder'), color: 'grey' });
    expect(source.channels).toBe(1);
    const img = await decoded(source, 2);
    expect(img.channels).toBe(1);
    expect(img.data[0]).toBe(Math.round(0.587 * 255));
  });

  it('follows symlinked class folders and sub-folders as torchvision does, but no link back up', async () => {
    // A subset made of links (ln -s /data/train/n01440764 subset/), with a link back up inside.
    await writeImage(t.file('store/bird/x.png'), solid(2, 2, [1, 2, 3]), 2, 2, 'png');
    await writeImage(t.file('store/fish/deep/y.png'), solid(2, 2, [4, 5, 6]), 2, 2, 'png');
    fs.mkdirSync(t.file('linked'));
    fs.symlinkSync(t.file('store/bird'), t.file('linked/bird'));
    fs.mkdirSync(t.file('linked/fish'));
    fs.symlinkSync(t.file('store/fish/deep'), t.file('linked/fish/deep'));
    fs.symlinkSync(t.file('store/fish'), t.file('store/fish/deep/up'));
    const { source } = await openSource({ type: 'ImageFolder', root: t.file('linked') });
    expect(source.classes).toEqual(['bird', 'fish']);
    const items = await Promise.all(Array.from({ length: source.length }, (_, i) => source.item(i)));
    expect(items.map((it) => [path.relative(t.file('linked'), it.where), it.label])).toEqual([
      ['bird/x.png', 0],
      ['fish/deep/y.png', 1],
    ]);
  });

  it('reads a folder unlabelled', async () => {
    const { source } = await openSource({ type: 'ImageFolder', root: t.file('folder'), labelled: false });
    expect(source.length).toBe(5);
    expect(source.classes).toBeUndefined();
    expect((await source.item(0)).label).toBeUndefined();
  });

  it('says what is wrong with a missing or empty folder', async () => {
    await expect(openSource({ type: 'ImageFolder', root: t.file('nope') })).rejects.toThrow(`image folder not found: ${t.file('nope')}`);
    fs.mkdirSync(t.file('empty'));
    await expect(openSource({ type: 'ImageFolder', root: t.file('empty'), labelled: false })).rejects.toThrow(/no image files found below it/);
  });
});

describe('ImageList', () => {
  it('reads path-label lines relative to the list (comments and blank lines ignored)', async () => {
    const { source } = await openSource({ type: 'ImageList', list: t.file('list.txt') });
    expect(source.length).toBe(3);
    expect(source.classes).toEqual(['0', '1', '2']);
    const it1 = await source.item(1);
    expect([path.relative(t.dir, (it1.image as { path: string }).path), it1.label, it1.where]).toEqual(['folder/dog/c.webp', 0, `${t.file('list.txt')}:4`]);
  });

  it('checks labels against the classes, naming the line', async () => {
    await expect(openSource({ type: 'ImageList', list: t.file('list.txt'), classes: ['a', 'b'] })).rejects.toThrow(`${t.file('list.txt')}:5: label 2 out of range: expected 0 to 1 (2 classes)`);
    const { source, skipped } = await openSource({ type: 'ImageList', list: t.file('list.txt'), classes: ['a', 'b'] }, { skipCorrupt: true });
    expect(source.length).toBe(2);
    expect(skipped).toEqual([{ where: `${t.file('list.txt')}:5`, reason: 'label 2 out of range: expected 0 to 1 (2 classes)' }]);
  });

  it('rejects a line without a label in a labelled list, and reads paths with spaces', async () => {
    fs.writeFileSync(t.file('bad.txt'), 'a.jpg 0\nb c.jpg x\n');
    await expect(openSource({ type: 'ImageList', list: t.file('bad.txt') })).rejects.toThrow(`${t.file('bad.txt')}:2: expected "path label" with an integer label, got "b c.jpg x"`);
    fs.writeFileSync(t.file('spaces.txt'), 'my photos/a b.jpg 3\n');
    const { source } = await openSource({ type: 'ImageList', list: t.file('spaces.txt'), root: '/data' });
    expect((await source.item(0)).image).toEqual({ kind: 'file', path: '/data/my photos/a b.jpg' });
  });

  it('reports a missing image with the list line when decoding', async () => {
    fs.writeFileSync(t.file('missing.txt'), 'folder/cat/a.jpg 0\nfolder/cat/zzz.jpg 0\n');
    const { source } = await openSource({ type: 'ImageList', list: t.file('missing.txt') });
    await expect(decoded(source, 1)).rejects.toThrow(`${t.file('missing.txt')}:2: image file not found: ${t.file('folder/cat/zzz.jpg')}`);
  });
});

describe('MNIST and Fashion-MNIST (idx files)', () => {
  it('reads the committed Fashion-MNIST sample (gzipped), split by subset', async () => {
    const train = (await openSource({ type: 'FashionMNIST', root: 'data/fashion-mnist-sample' })).source;
    const test = (await openSource({ type: 'FashionMNIST', root: 'data/fashion-mnist-sample' }, { split: 'val' })).source;
    expect([train.length, test.length, train.channels]).toEqual([2000, 500, 1]);
    expect(train.classes![9]).toBe('Ankle boot');
    const counts = new Array(10).fill(0);
    for (let i = 0; i < train.length; i++) counts[(await train.item(i)).label!]++;
    expect(counts).toEqual(new Array(10).fill(200));
    const img = await decoded(train, 0);
    expect([img.width, img.height, img.channels]).toEqual([28, 28, 1]);
  });

  it('reads uncompressed idx files and matches pixels and labels byte for byte', async () => {
    fs.mkdirSync(t.file('mnist'));
    const pixels = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
    writeIdx(t.file('mnist/t10k-images-idx3-ubyte'), [3, 2, 2], pixels, false);
    writeIdx(t.file('mnist/t10k-labels-idx1-ubyte'), [3], Uint8Array.from([7, 0, 9]), false);
    const { source } = await openSource({ type: 'MNIST', root: t.file('mnist'), subset: 'test' });
    const item = await source.item(2);
    expect(item.label).toBe(9);
    expect(item.where).toBe(`${t.file('mnist/t10k-images-idx3-ubyte')}[2]`);
    expect(Array.from((item.image as { data: Uint8Array }).data)).toEqual([160, 180, 200, 220]);
  });

  it('reports truncated and mismatched idx files', async () => {
    fs.mkdirSync(t.file('broken'));
    writeIdx(t.file('broken/train-images-idx3-ubyte.gz'), [3, 2, 2], new Uint8Array(10), true);
    writeIdx(t.file('broken/train-labels-idx1-ubyte.gz'), [3], new Uint8Array(3), true);
    await expect(openSource({ type: 'MNIST', root: t.file('broken') })).rejects.toThrow(/train-images-idx3-ubyte\.gz: truncated: the header announces 3x2x2 = 12 bytes of data but the file holds 10; item 2 \(byte 24 of the uncompressed data\) is the first incomplete one/);
    writeIdx(t.file('broken/train-images-idx3-ubyte.gz'), [2, 2, 2], new Uint8Array(8), true);
    await expect(openSource({ type: 'MNIST', root: t.file('broken') })).rejects.toThrow(/holds 3 labels but .* holds 2 images/);
    await expect(openSource({ type: 'MNIST', root: t.file('folder') })).rejects.toThrow(/MNIST train images not found in .*folder: expected train-images-idx3-ubyte\.gz or/);
  });
});

describe('CIFAR10 (binary batches)', () => {
  it('reads records of a label byte and planar RGB into HWC pixels', async () => {
    const dir = t.file('cifar/cifar-10-batches-bin');
    fs.mkdirSync(dir, { recursive: true });
    const rec = (label: number, r: number, g: number, b: number) => Buffer.concat([Buffer.from([label]), Buffer.alloc(1024, r), Buffer.alloc(1024, g), Buffer.alloc(1024, b)]);
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.concat([rec(3, 1, 2, 3), rec(9, 250, 0, 128)]));
    fs.writeFileSync(path.join(dir, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    const { source } = await openSource({ type: 'CIFAR10', root: t.file('cifar') }, { split: 'test' });
    expect(source.length).toBe(2);
    expect(source.classes![3]).toBe('cat');
    const item = await source.item(1);
    expect(item.label).toBe(9);
    expect(item.where).toBe(`${path.join(dir, 'test_batch.bin')}@3073`);
    const px = (item.image as { data: Uint8Array; width: number; height: number }).data;
    expect(Array.from(px.slice(0, 6))).toEqual([250, 0, 128, 250, 0, 128]);
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.concat([rec(3, 1, 2, 3), rec(9, 250, 0, 128).subarray(0, 100)]));
    await expect(openSource({ type: 'CIFAR10', root: t.file('cifar') }, { split: 'test' })).rejects.toThrow(/test_batch\.bin: truncated: 3173 bytes is not a whole number of 3073-byte records; record 1 at byte 3073 is incomplete/);
  });
});

describe('TFRecord', () => {
  it('reads what pack wrote: same labels and pixels as the folder, via the index files', async () => {
    const folder = (await openSource({ type: 'ImageFolder', root: t.file('folder') })).source;
    const result = await packSource(folder, { out: t.file('shards'), shards: 2, prefix: 'train' });
    expect(result.shards.map((s) => path.basename(s.file))).toEqual(['train-00000-of-00002.tfrecord', 'train-00001-of-00002.tfrecord']);
    expect(fs.readFileSync(t.file('shards/classes.txt'), 'utf8')).toBe('cat\ndog\n');
    const { source } = await openSource({ type: 'TFRecord', files: t.file('shards') });
    expect(source.length).toBe(5);
    expect(source.classes).toEqual(['cat', 'dog']);
    // pack shuffles; match items by their pixels
    const key = async (s: DataSource, i: number) => {
      const img = await decoded(s, i);
      return `${(await s.item(i)).label}:${img.width}x${img.height}:${Array.from(img.data.slice(0, 6)).join(',')}`;
    };
    const a = await Promise.all(Array.from({ length: 5 }, (_, i) => key(folder, i)));
    const b = await Promise.all(Array.from({ length: 5 }, (_, i) => key(source, i)));
    expect(b.sort()).toEqual(a.sort());
    expect((await source.item(0)).where).toBe(`${t.file('shards/train-00000-of-00002.tfrecord')}@0`);
    // a pattern and an index-less shard (the index is rebuilt by scanning)
    fs.rmSync(t.file('shards/train-00001-of-00002.tfrecord.idx'));
    const { source: s2 } = await openSource({ type: 'TFRecord', files: t.file('shards/train-*-of-00002.tfrecord') });
    expect(s2.length).toBe(5);
  });

  it('a pack that fails leaves no shard behind (not a smaller data set), and its prefix is a name, not a path', async () => {
    fs.mkdirSync(t.file('badfolder/cat'), { recursive: true });
    for (const n of ['a', 'b', 'c']) fs.copyFileSync(t.file('folder/cat/sub/b.png'), t.file(`badfolder/cat/${n}.png`));
    fs.writeFileSync(t.file('badfolder/cat/d.png'), 'not a png');
    const bad = (await openSource({ type: 'ImageFolder', root: t.file('badfolder') })).source;
    await expect(packSource(bad, { out: t.file('badpack'), shards: 4, shuffle: false })).rejects.toThrow(/d\.png/);
    expect(fs.readdirSync(t.file('badpack'))).toEqual([]);
    await expect(packSource(bad, { out: t.file('escape'), shards: 1, prefix: '../escape' })).rejects.toThrow('--prefix "../escape": expected a file name prefix without a folder (the shards go into --out)');
    expect(fs.existsSync(t.file('escape-00000-of-00001.tfrecord'))).toBe(false);
  });

  it('packs raw pixels as PNG and reads them back grey', async () => {
    fs.mkdirSync(t.file('mn'), { recursive: true });
    writeIdx(t.file('mn/t10k-images-idx3-ubyte'), [2, 2, 3], Uint8Array.from([0, 50, 100, 150, 200, 250, 1, 2, 3, 4, 5, 6]), false);
    writeIdx(t.file('mn/t10k-labels-idx1-ubyte'), [2], Uint8Array.from([4, 5]), false);
    const mn = (await openSource({ type: 'MNIST', root: t.file('mn') }, { split: 'test' })).source;
    await packSource(mn, { out: t.file('mnpack'), shards: 1, shuffle: false });
    const { source } = await openSource({ type: 'TFRecord', files: t.file('mnpack') });
    expect(source.channels).toBe(1);
    expect(Array.from((await decoded(source, 0)).data)).toEqual([0, 50, 100, 150, 200, 250]);
    expect((await source.item(1)).label).toBe(5);
  });

  it('reports a damaged record with its file and offset', async () => {
    const shard = t.file('shards/train-00000-of-00002.tfrecord');
    const bytes = fs.readFileSync(shard);
    bytes[40] ^= 0xff;
    fs.writeFileSync(t.file('bad.tfrecord'), bytes);
    const { source } = await openSource({ type: 'TFRecord', files: t.file('bad.tfrecord') });
    expect(() => source.item(0)).toThrow(`${t.file('bad.tfrecord')}@0: corrupt record: the CRC of its`);
  });
});

describe('COCO', () => {
  const write = (name: string, ann: unknown) => fs.writeFileSync(t.file(name), JSON.stringify(ann));
  const base = () => ({
    images: [
      { id: 1, file_name: 'cat/a.jpg', width: 8, height: 6 },
      { id: 2, file_name: 'dog/c.webp', width: 5, height: 3 },
      { id: 3, file_name: 'dog/d.png', width: 2, height: 2 },
    ],
    annotations: [
      { id: 10, image_id: 1, category_id: 18, bbox: [1, 1, 3, 2], area: 6, iscrowd: 0 },
      { id: 11, image_id: 1, category_id: 1, bbox: [0, 0, 8.5, 6], area: 48, iscrowd: 0 },
      { id: 12, image_id: 2, category_id: 18, bbox: [0, 0, 5, 3], area: 15, iscrowd: 1 },
    ],
    categories: [
      { id: 18, name: 'dog' },
      { id: 1, name: 'person' },
    ],
  });

  it('maps category ids to labels in id order and reads boxes (overhang within tolerance clipped)', async () => {
    write('coco.json', base());
    const { source } = await openSource({ type: 'COCO', ann_file: t.file('coco.json'), img_dir: t.file('folder') });
    expect(source.classes).toEqual(['person', 'dog']);
    expect(source.length).toBe(3);
    const item = await source.item(0);
    // Each box keeps the annotation's area (pycocotools' size buckets use it, not the box's).
    expect(item.boxes).toEqual([
      { bbox: [1, 1, 3, 2], label: 1, id: 10, area: 6 },
      { bbox: [0, 0, 8, 6], label: 0, id: 11, area: 48 },
    ]);
    expect(item.crowd).toBeUndefined();
    // A crowd region is no training target; it travels beside the boxes for evaluation.
    expect(await source.item(1)).toMatchObject({ boxes: [], crowd: [{ bbox: [0, 0, 5, 3], label: 1, id: 12, area: 15 }] });
    const filtered = (await openSource({ type: 'COCO', ann_file: t.file('coco.json'), img_dir: t.file('folder'), filter_empty: true })).source;
    expect(filtered.length).toBe(1);
  });

  it('names the annotation of every bad box, unknown category and missing file', async () => {
    const ann = base();
    ann.annotations.push(
      { id: 20, image_id: 2, category_id: 1, bbox: [3, 1, 4, 1], area: 4, iscrowd: 0 },
      { id: 21, image_id: 2, category_id: 1, bbox: [1, 1, 0, 2], area: 0, iscrowd: 0 },
      { id: 22, image_id: 3, category_id: 99, bbox: [0, 0, 1, 1], area: 1, iscrowd: 0 },
      { id: 23, image_id: 42, category_id: 1, bbox: [0, 0, 1, 1], area: 1, iscrowd: 0 },
    );
    ann.images.push({ id: 4, file_name: 'dog/gone.jpg', width: 4, height: 4 });
    write('bad.json', ann);
    const f = t.file('bad.json');
    const err = await openSource({ type: 'COCO', ann_file: f, img_dir: t.file('folder') }).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      [
        '5 problems in the COCO annotations (set data.skip_corrupt: true to skip and count them):',
        `  ${f} image 4: image file not found: ${t.file('folder/dog/gone.jpg')}`,
        `  ${f} annotation 20: box [3, 1, 4, 1] lies outside image 2 (5x3)`,
        `  ${f} annotation 21: zero-area box [1, 1, 0, 2] (width and height must be > 0) in image 2`,
        `  ${f} annotation 22: unknown category_id 99 (image 3); categories are 1, 18`,
        `  ${f} annotation 23: unknown image_id 42`,
      ].join('\n'),
    );
    const { source, skipped } = await openSource({ type: 'COCO', ann_file: f, img_dir: t.file('folder') }, { skipCorrupt: true });
    expect(skipped.length).toBe(5);
    expect(source.length).toBe(3); // image 4 left out
    expect((await source.item(1)).boxes).toEqual([]);
  });
});

describe('paths in configs', () => {
  it('resolve against the working directory, then the config\'s folder when missing there', () => {
    const resolve = pathResolver(t.dir);
    expect(resolve('data/fashion-mnist-sample')).toBe(path.resolve('data/fashion-mnist-sample'));
    expect(resolve('folder/cat')).toBe(t.file('folder/cat'));
    expect(resolve('nowhere/at/all')).toBe(path.resolve('nowhere/at/all'));
    expect(resolve('/abs/path')).toBe('/abs/path');
  });
});
