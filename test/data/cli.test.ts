import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cvw } from '../helpers/cvw';
import { fetchDataset, RECIPES, type DatasetRecipe } from '../../src/data/fetch';
import { tempFiles } from '../helpers/tmp';
import { openSource, solid, writeImage } from './helpers';

const t = tempFiles({});
afterAll(() => t.cleanup());


describe('cvw data inspect and pack', () => {
  beforeAll(async () => {
    await writeImage(t.file('pics/red/1.jpg'), solid(10, 8, [220, 10, 10]), 10, 8, 'jpeg');
    await writeImage(t.file('pics/red/2.png'), solid(12, 8, [200, 0, 0]), 12, 8, 'png');
    await writeImage(t.file('pics/blue/3.jpg'), solid(10, 8, [0, 0, 230]), 10, 8, 'jpeg');
  });

  it('describes the committed Fashion-MNIST sample', async () => {
    const r = await cvw('data', 'inspect', 'data/fashion-mnist-sample', '-q');
    expect(r.code).toBe(0);
    expect(r.out).toContain('FashionMNIST: 2000 items, grey (1 channel)');
    expect(r.out).toMatch(/\n {5}9 {2}Ankle boot {3}200\n/);
    expect(r.out).toContain('image sizes (all items): 28x28 (2000)');
  });

  it('packs a folder into shards that inspect --check reads back whole', async () => {
    const pack = await cvw('data', 'pack', t.file('pics'), '--out', t.file('packed'), '--shards', '2', '-q');
    expect(pack.code).toBe(0);
    expect(pack.out.split('\n').filter(Boolean).map((l) => l.split('\t').slice(0, 2).join(' '))).toEqual([`${t.file('packed/train-00000-of-00002.tfrecord')} 1 records`, `${t.file('packed/train-00001-of-00002.tfrecord')} 2 records`]);
    expect(pack.err).toMatch(/3 records in 2 shards/);
    const r = await cvw('data', 'inspect', t.file('packed'), '--check', '--json', '-q');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.source).toEqual({ type: 'TFRecord', files: t.file('packed') });
    expect(report.classes).toEqual([
      { label: 0, name: 'blue', count: 1 },
      { label: 1, name: 'red', count: 2 },
    ]);
    expect(report.sizes).toEqual([
      { width: 10, height: 8, count: 2 },
      { width: 12, height: 8, count: 1 },
    ]);
    expect([report.checked, report.bad]).toEqual([3, []]);
    // Packed again into 3 shards: the 2 of before go (read with the new ones, every item counted
    // twice); files of another prefix stay.
    fs.writeFileSync(t.file('packed/val-00000-of-00002.tfrecord'), '');
    expect((await cvw('data', 'pack', t.file('pics'), '--out', t.file('packed'), '--shards', '3', '-q')).code).toBe(0);
    expect(fs.readdirSync(t.file('packed')).sort()).toEqual([
      'classes.txt',
      ...[0, 1, 2].flatMap((k) => [`train-0000${k}-of-00003.tfrecord`, `train-0000${k}-of-00003.tfrecord.idx`]),
      'val-00000-of-00002.tfrecord',
    ]);
  });

  it('lists bad items with --check and exits 1', async () => {
    fs.cpSync(t.file('pics'), t.file('bad'), { recursive: true });
    fs.writeFileSync(t.file('bad/blue/4.jpg'), fs.readFileSync(t.file('pics/blue/3.jpg')).subarray(0, 100));
    const r = await cvw('data', 'inspect', t.file('bad'), '--check', '-q');
    expect(r.code).toBe(1);
    expect(r.out).toContain('checked: 4 items decoded, 1 bad');
    expect(r.out).toMatch(new RegExp(`bad: ${t.file('bad/blue/4.jpg')}: cannot decode ${t.file('bad/blue/4.jpg')}: `));
  });

  it('lists a class-names file of 200,000 lines, not a stack overflow', async () => {
    // Math.max(...) of the names' lengths overflowed the call stack as arguments.
    fs.writeFileSync(t.file('names.txt'), Array.from({ length: 200_000 }, (_, i) => `class${i}`).join('\n'));
    fs.writeFileSync(t.file('list.txt'), 'red/1.jpg 199999\n');
    fs.writeFileSync(t.file('many.yaml'), ['data:', '  train:', '    type: ClsDataset', `    source: {type: ImageList, list: ${t.file('list.txt')}, root: ${t.file('pics')}, classes: ${t.file('names.txt')}}`, '    batch_size: 1', ''].join('\n'));
    const r = await cvw('data', 'inspect', t.file('many.yaml'), '-q');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('classes: 200000');
    expect(r.out).toMatch(/\n {2}199999 {2}class199999 {2}1\n/);
  });

  it('lists 200,000 bad list lines found while opening, not a stack overflow', async () => {
    // unshift(...skipped) passed every problem as an argument and overflowed the call stack.
    fs.writeFileSync(t.file('badlines.txt'), ['red/1.jpg 0', ...Array.from({ length: 200_000 }, () => 'x q')].join('\n'));
    fs.writeFileSync(t.file('badlines.yaml'), ['data:', '  train:', '    type: ClsDataset', `    source: {type: ImageList, list: ${t.file('badlines.txt')}, root: ${t.file('pics')}}`, '    batch_size: 1', ''].join('\n'));
    const r = await cvw('data', 'inspect', t.file('badlines.yaml'), '--json', '-q');
    expect(r.err).not.toMatch(/internal error/);
    const report = JSON.parse(r.out);
    expect(report.bad).toHaveLength(200_000);
    expect(report.bad[199_999].reason).toMatch(/expected "path label" with an integer label, got "x q"/);
  });

  it('reads a full config\'s data.<split> and says which splits exist', async () => {
    fs.writeFileSync(t.file('cfg.yaml'), ['data:', '  val:', '    type: ClsDataset', `    source: {type: ImageFolder, root: ${t.file('pics')}}`, '    batch_size: 2', ''].join('\n'));
    const r = await cvw('data', 'inspect', t.file('cfg.yaml'), '--split', 'val', '-q');
    expect([r.code, r.out.split('\n')[0]]).toEqual([0, 'ImageFolder: 3 items, RGB (3 channels)']);
    const missing = await cvw('data', 'inspect', t.file('cfg.yaml'), '-q');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no data.train dataset in this config (it has data.val; use --split)');
    // A split is a key of data, not a member of Object.prototype.
    for (const split of ['__proto__', 'constructor']) {
      expect(await cvw('data', 'inspect', t.file('cfg.yaml'), '--split', split, '-q')).toMatchObject({ code: 1, err: expect.stringContaining(`no data.${split} dataset in this config (it has data.val; use --split)`) });
    }
  });

  it('pack skips unreadable files with --skip-corrupt and names them', async () => {
    fs.cpSync(t.file('pics'), t.file('junk'), { recursive: true });
    fs.writeFileSync(t.file('junk/red/notes.jpg'), 'not an image');
    const stop = await cvw('data', 'pack', t.file('junk'), '--out', t.file('junk-packed'), '-q');
    expect(stop.code).toBe(1);
    expect(stop.err).toContain(`${t.file('junk/red/notes.jpg')}: not an image file of a known format (JPEG, PNG, WebP, GIF, BMP, TIFF, PNM)`);
    expect(fs.existsSync(t.file('junk-packed/train-00000-of-00001.tfrecord'))).toBe(false);
    const skip = await cvw('data', 'pack', t.file('junk'), '--out', t.file('junk-packed'), '--skip-corrupt', '-q');
    expect(skip.code).toBe(0);
    expect(skip.err).toContain(`skipped ${t.file('junk/red/notes.jpg')}: not an image file`);
    expect(skip.err).toContain('3 records in 1 shard');
  });

  it('requires --out for pack', async () => {
    const r = await cvw('data', 'pack', t.file('pics'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('--out <dir> is required');
  });
});

/** A local server for downloads: supports Range, can break the first response after `breakAfter` bytes. */
function serve(files: Record<string, Buffer>, breakAfter?: number) {
  const ranges: string[] = [];
  let broken = false;
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').slice(1));
    const body = files[name];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (req.headers.range) ranges.push(`${name} ${req.headers.range}`);
    const start = range ? Number(range[1]) : 0;
    if (start >= body.length) {
      res.writeHead(416).end();
      return;
    }
    res.writeHead(range ? 206 : 200, { 'content-length': body.length - start, ...(range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
    if (breakAfter !== undefined && !broken && body.length > breakAfter) {
      broken = true;
      res.write(body.subarray(start, start + breakAfter), () => res.socket?.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  return new Promise<{ url: string; ranges: string[]; close(): Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/`, ranges, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

const DEBIAN_FASHION = '/usr/share/datasets/fashion-mnist';
const hasDebianFashion = fs.existsSync(path.join(DEBIAN_FASHION, 't10k-labels-idx1-ubyte.gz'));

describe('cvw data fetch', () => {
  it.skipIf(!hasDebianFashion)('downloads Fashion-MNIST from a mirror, resumes a broken download, verifies the content', async () => {
    const files = Object.fromEntries(RECIPES['fashion-mnist'].files.map((f) => [f.name, fs.readFileSync(path.join(DEBIAN_FASHION, f.name))]));
    const server = await serve(files, 1 << 20);
    try {
      const r = await cvw('data', 'fetch', 'fashion-mnist', '--dir', t.file('fm'), '--mirror', server.url);
      expect(r.err).toContain('connection broken after 1048576 bytes');
      expect(r.code).toBe(0);
      expect(r.out.trim()).toBe(t.file('fm'));
      // Debian recompressed the files: accepted by the SHA-256 of their content.
      expect(r.err).toContain('train-images-idx3-ubyte.gz: SHA-256 of the decompressed content verified');
      expect(server.ranges).toEqual(['train-images-idx3-ubyte.gz bytes=1048576-']);
      for (const [name, body] of Object.entries(files)) expect(fs.readFileSync(t.file(`fm/${name}`)).equals(body)).toBe(true);
      const { source } = await openSource({ type: 'FashionMNIST', root: t.file('fm') }, { split: 'test' });
      expect(source.length).toBe(10000);
      // a second run finds everything in place
      const again = await cvw('data', 'fetch', 'fashion-mnist', '--dir', t.file('fm'), '--mirror', server.url);
      expect(again.err).toContain('t10k-labels-idx1-ubyte.gz: already there, checksum verified');
    } finally {
      await server.close();
    }
  });

  it.skipIf(!hasDebianFashion)('copies from a local folder (--from), verified', async () => {
    const r = await cvw('data', 'fetch', 'fashion-mnist', '--dir', t.file('fm2'), '--from', DEBIAN_FASHION);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`t10k-labels-idx1-ubyte.gz: copied from ${DEBIAN_FASHION}/t10k-labels-idx1-ubyte.gz, SHA-256 of the decompressed content verified`);
  });

  it('rejects a download whose checksum does not match, and keeps nothing', async () => {
    const recipe: DatasetRecipe = { ...RECIPES['fashion-mnist'], files: [{ name: 'x.bin', sha256: 'a'.repeat(64) }] };
    const server = await serve({ 'x.bin': Buffer.from('tampered') });
    try {
      await expect(fetchDataset(recipe, { dir: t.file('bad-dl'), mirrors: [server.url] })).rejects.toThrow(/x\.bin from .*: checksum mismatch: SHA-256 [0-9a-f]{64}, expected a{64}; the download was removed/);
      expect(fs.readdirSync(t.file('bad-dl'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('downloads and unpacks a CIFAR-style tar.gz, then the source reads it', async () => {
    const src = t.file('mk/cifar-10-batches-bin');
    fs.mkdirSync(src, { recursive: true });
    const rec = Buffer.concat([Buffer.from([4]), Buffer.alloc(3072, 9)]);
    fs.writeFileSync(path.join(src, 'test_batch.bin'), Buffer.concat([rec, rec, rec]));
    fs.writeFileSync(path.join(src, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n');
    // an archive made by the system's tar, as the real one is
    execFileSync('tar', ['czf', t.file('mk/cifar.tar.gz'), '-C', t.file('mk'), 'cifar-10-batches-bin']);
    const archive = fs.readFileSync(t.file('mk/cifar.tar.gz'));
    const recipe: DatasetRecipe = { ...RECIPES.cifar10, files: [{ name: 'cifar-10-binary.tar.gz', sha256: createHash('sha256').update(archive).digest('hex'), size: archive.length }] };
    const server = await serve({ 'cifar-10-binary.tar.gz': archive }, 1000);
    try {
      const dir = await fetchDataset(recipe, { dir: t.file('c10'), mirrors: [server.url] });
      const { source } = await openSource({ type: 'CIFAR10', root: dir }, { split: 'test' });
      expect([source.length, source.classes![4], (await source.item(2)).label]).toEqual([3, 'e', 4]);
      const copy = await fetchDataset(recipe, { dir: t.file('c10b'), from: t.file('mk/cifar.tar.gz') });
      expect(fs.existsSync(path.join(copy, 'cifar-10-batches-bin/test_batch.bin'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('names the data sets it knows', async () => {
    const r = await cvw('data', 'fetch', 'imagenet');
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown data set "imagenet"; choose one of fashion-mnist, cifar10');
    // Names that Object.prototype has are no recipes either.
    for (const name of ['constructor', 'toString', '__proto__']) {
      expect(await cvw('data', 'fetch', name, '--dir', t.file(`fetch-${name}`))).toMatchObject({ code: 2, err: expect.stringContaining(`unknown data set "${name}"; choose one of fashion-mnist, cifar10`) });
      expect(fs.existsSync(t.file(`fetch-${name}`))).toBe(false);
    }
  });
});
